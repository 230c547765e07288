package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"wxoa/wechat/token"
)

// page renders the admin page for an authenticated caller. GET never
// changes state (the flash cookie it clears is the browser's).
func (a *Admin) page(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	now, st := a.now(), a.tokens.Stats()
	v := pageView{
		Name:    a.tokens.Name(),
		Now:     fmtTime(now),
		Bearer:  c.bearer,
		Token:   tokenState(st, now),
		Store:   storeState(a.info.Store, st.StoreErr),
		Info:    a.info,
		Menu:    a.menu.get(r.Context()),
		Traffic: trafficState(a.traffic, now),
	}
	if !c.bearer {
		v.CSRF = a.sess.csrf(c.sess)
		v.SessionEnds = fmtTime(c.sess.expires)
	}
	v.FlashKind, v.Flash = a.sess.takeFlash(w, r)
	a.render(w, http.StatusOK, "admin", v)
}

// refresh is "Refresh now": a compare-and-refresh of the token in service,
// so two operators pressing it at once, or pressing it just after the
// server refreshed by itself, cost at most one fetch. Its outcome is shown
// on the page after the redirect; a failure is shown, not a 500.
func (a *Admin) refresh(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authorizePost(w, r)
	if !ok {
		return
	}
	st := a.tokens.Stats()
	var stale string
	if st.HasToken {
		stale = st.Token.Value.Reveal()
	}
	ctx, cancel := context.WithTimeout(r.Context(), refreshTimeout)
	defer cancel()
	tok, err := a.tokens.RefreshIfCurrent(ctx, stale)
	by := "session"
	if c.bearer {
		by = "bearer"
	}
	switch {
	case err != nil:
		a.log.Warn("admin: refresh failed", "client", r.RemoteAddr, "by", by, "err", err)
		// The error says what happened (refused, reset, timed out after how
		// long); only this page's own deadline is "no answer".
		msg := "Refresh failed: " + err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "Refresh failed: no answer within " + refreshTimeout.String() + "; it may still complete: reload the page."
		}
		a.sess.setFlash(w, flashErr, msg)
	case stale == "" || !tok.Value.Equal(stale):
		a.log.Info("admin: token refreshed", "client", r.RemoteAddr, "by", by, "expires_at", tok.ExpiresAt)
		a.sess.setFlash(w, flashOK, "Refreshed: the new token "+mask(tok.Value.Reveal())+" expires at "+fmtTime(tok.ExpiresAt)+".")
	default:
		a.log.Info("admin: refresh found the token still accepted", "client", r.RemoteAddr, "by", by)
		a.sess.setFlash(w, flashInfo, "Nothing fetched: WeChat still accepts the token in service (it expires at "+
			fmtTime(tok.ExpiresAt)+"). A leaked token needs a forced refresh: POST /api/token/refresh without stale_token.")
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// pageView is the data of the "admin" template: display strings only, so
// the template has no logic beyond layout.
type pageView struct {
	Name        string // the token's name, "access_token"
	Now         string
	Bearer      bool   // viewed by a script: no session, no logout
	CSRF        string // the forms' token for a browser session
	SessionEnds string
	FlashKind   string
	Flash       string
	Token       tokenView
	Store       storeView
	Info        staticInfo
	Menu        menuView
	Traffic     trafficView
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

type storeView struct{ Kind, Health, HealthKind string }

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

func storeState(kind string, err error) storeView {
	if kind == "" {
		kind = "unknown"
	}
	if err != nil {
		return storeView{Kind: kind, Health: err.Error(), HealthKind: "bad"}
	}
	return storeView{Kind: kind, Health: "ok", HealthKind: "ok"}
}
