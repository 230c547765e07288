package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat/token"
)

// page renders the admin page for an authenticated caller: every account,
// or with ?account=NAME (or a single account) that one in detail, menu
// included. GET never changes state (the flash cookie it clears is the
// browser's).
func (a *Admin) page(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	now, all := a.now(), a.accounts()
	shown := all
	if name := r.URL.Query().Get("account"); name != "" {
		i := slices.IndexFunc(all, func(x *Account) bool { return x.Name == name })
		if i < 0 {
			http.Error(w, "no account named "+strconv.Quote(Printable(name)), http.StatusNotFound)
			return
		}
		shown = all[i : i+1]
	}
	v := pageView{
		Title:   "accounts",
		Now:     fmtTime(now),
		Bearer:  c.bearer,
		Store:   a.store,
		Several: len(all) > 1,
		Traffic: trafficState(a.traffic, now),
	}
	if len(shown) == 1 {
		acct := shown[0]
		v.Title, v.Detail, v.Menu = acct.Name, true, acct.menuCache(a).get(r.Context())
	}
	for _, acct := range shown {
		v.Accounts = append(v.Accounts, accountState(acct, now))
	}
	if !c.bearer {
		v.CSRF = a.sess.csrf(c.sess)
		v.SessionEnds = fmtTime(c.sess.expires)
	}
	v.FlashKind, v.Flash = a.sess.takeFlash(w, r)
	a.render(w, http.StatusOK, "admin", v)
}

// refresh is "Refresh now" for the account the form names (or the only
// one): a compare-and-refresh of the token in service, so two operators
// pressing it at once, or pressing it just after the server refreshed by
// itself, cost at most one fetch. Its outcome is shown on the page after
// the redirect; a failure is shown, not a 500.
func (a *Admin) refresh(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authorizePost(w, r)
	if !ok {
		return
	}
	acct, back, several := a.formAccount(r)
	if acct == nil || acct.Tokens == nil {
		a.sess.setFlash(w, flashErr, "Nothing refreshed: no account with a token is named "+strconv.Quote(Printable(r.FormValue("account")))+".")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	st := acct.Tokens.Stats()
	var stale string
	if st.HasToken {
		stale = st.Token.Value.Reveal()
	}
	ctx, cancel := context.WithTimeout(r.Context(), refreshTimeout)
	defer cancel()
	tok, err := acct.Tokens.RefreshIfCurrent(ctx, stale)
	by := "session"
	if c.bearer {
		by = "bearer"
	}
	log := a.log.With("account", acct.Name, "client", r.RemoteAddr, "by", by)
	who := "" // with several accounts, the flash names the one it is about
	if several {
		who = acct.Name + ": "
	}
	switch {
	case err != nil:
		log.Warn("admin: refresh failed", "err", err)
		// The error says what happened (refused, reset, timed out after how
		// long); only this page's own deadline is "no answer".
		msg := who + "Refresh failed: " + err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = who + "Refresh failed: no answer within " + refreshTimeout.String() + "; it may still complete: reload the page."
		}
		a.sess.setFlash(w, flashErr, msg)
	case stale == "" || !tok.Value.Equal(stale):
		log.Info("admin: token refreshed", "expires_at", tok.ExpiresAt)
		a.sess.setFlash(w, flashOK, who+"Refreshed: the new token "+mask(tok.Value.Reveal())+" expires at "+fmtTime(tok.ExpiresAt)+".")
	default:
		log.Info("admin: refresh found the token still accepted")
		a.sess.setFlash(w, flashInfo, who+"Nothing fetched: WeChat still accepts the token in service (it expires at "+
			fmtTime(tok.ExpiresAt)+"). A leaked token needs a forced refresh: POST /api/token/refresh without stale_token.")
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// formAccount returns the account a POST names in its "account" field (or
// the only one, when the field is empty), where to go back to (the page
// the form was on), and whether several accounts are configured.
func (a *Admin) formAccount(r *http.Request) (acct *Account, back string, several bool) {
	name, back := r.FormValue("account"), "/admin"
	all := a.accounts()
	several = len(all) > 1
	if r.FormValue("detail") != "" && name != "" && several {
		back = "/admin?account=" + url.QueryEscape(name)
	}
	if name == "" && len(all) == 1 {
		return all[0], back, several
	}
	for _, x := range all {
		if x.Name == name {
			return x, back, several
		}
	}
	return nil, "/admin", several
}

// pageView is the data of the "admin" template: display strings only, so
// the template has no logic beyond layout.
type pageView struct {
	Title       string
	Now         string
	Bearer      bool   // viewed by a script: no session, no logout
	CSRF        string // the forms' token for a browser session
	SessionEnds string
	FlashKind   string
	Flash       string
	Store       string // the token store's kind
	Several     bool   // more than one account is configured: link back to all
	Detail      bool   // one account shown, with its menu
	Accounts    []accountView
	Menu        menuView
	Traffic     trafficView
}

// accountView is one account's section.
type accountView struct {
	Name, Kind   string
	HasTokens    bool
	Token        tokenView
	Store        storeView
	CallbackPath string
	CallbackMode string
}

func accountState(a *Account, now time.Time) accountView {
	v := accountView{Name: a.Name, Kind: a.Kind, CallbackPath: a.CallbackPath, CallbackMode: a.CallbackMode}
	if a.Tokens != nil {
		st := a.Tokens.Stats()
		v.HasTokens, v.Token, v.Store = true, tokenState(st, now), storeState(st.StoreErr)
	}
	return v
}

// tokenView is the token's state; Masked is all of the token there is.
type tokenView struct {
	State, StateKind        string // "valid"/ok, "refreshing"/warn, "expired"/bad, "none"/bad
	Masked                  string
	ExpiresAt, ExpiresIn    string
	FetchedAt, FetchedAgo   string
	By                      string
	NextRefresh, NextIn     string
	Fetches, FetchesKind    string
	Day                     string
	LastError, LastErrorAgo string
}

type storeView struct{ Health, HealthKind string }

func tokenState(st token.Stats, now time.Time) tokenView {
	var v tokenView
	switch t := st.Token; {
	case !st.HasToken:
		v.State, v.StateKind = "no token", "bad"
	case !now.Before(t.ExpiresAt):
		v.State, v.StateKind = "expired", "bad"
	case !now.Before(st.NextRefresh):
		v.State, v.StateKind = "refresh due", "warn"
	default:
		v.State, v.StateKind = "valid", "ok"
	}
	if st.HasToken {
		t := st.Token
		v.Masked = mask(t.Value.Reveal())
		v.ExpiresAt, v.ExpiresIn = fmtTime(t.ExpiresAt), relative(now, t.ExpiresAt)
		v.FetchedAt, v.FetchedAgo = fmtTime(t.FetchedAt), relative(now, t.FetchedAt)
		v.By = t.By
		v.NextRefresh, v.NextIn = fmtTime(st.NextRefresh), relative(now, st.NextRefresh)
	}
	v.Fetches, v.FetchesKind = fetches(st.FetchesToday, st.DailyLimit)
	v.Day = st.Day
	if st.LastError != nil {
		v.LastError = st.LastError.Error()
		v.LastErrorAgo = relative(now, st.LastErrorAt)
	}
	return v
}

func storeState(err error) storeView {
	if err != nil {
		return storeView{Health: err.Error(), HealthKind: "bad"}
	}
	return storeView{Health: "ok", HealthKind: "ok"}
}

// Printable shortens and cleans a value from a request for a message
// (the router's too): at most 64 bytes, valid UTF-8.
func Printable(v string) string {
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return strings.ToValidUTF8(v, "?")
}
