package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

// TokenService is the token manager as the HTTP API sees it.
type TokenService interface {
	Current(ctx context.Context) (token.Token, error)
	RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error)
	ForceRefresh(ctx context.Context) (token.Token, error)
}

// tokenAPI serves the token API and the drop-in endpoints of one account
// set; every request names (or, with one account, may leave out) the
// account it is for.
type tokenAPI struct {
	accounts *Accounts
	now      func() time.Time
	log      *slog.Logger
	lim      *authLimiter
}

// renderedToken is an account's last GET /api/token answer: it only
// changes when the token does or a second passes, and this endpoint is
// polled hard.
type renderedToken struct {
	value string
	at    int64 // Unix second it was rendered for
	body  []byte
}

// bearer guards the token API. The key is compared in constant time; a
// failure is recorded against the client, with why but not what it sent.
func bearer(key wechat.Secret, lim *authLimiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		const scheme = "Bearer "
		var reason string
		switch {
		case h == "":
			reason = "no Authorization header"
		case len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme):
			reason = "not a bearer token"
		case !key.Equal(h[len(scheme):]):
			reason = "wrong bearer token"
		}
		if reason != "" {
			lim.failed(c, reason)
			writeError(c, lim.log, errUnauthorized)
			return
		}
		c.Next()
	}
}

// current answers GET /api/token[?account=NAME|appid=APPID]. The JSON is
// built by hand: this is the endpoint every business service polls.
func (a *tokenAPI) current(c *gin.Context) {
	acct, ok := a.selectFromQuery(c)
	if !ok {
		return
	}
	t, err := acct.Tokens.Current(c.Request.Context())
	if err != nil {
		writeError(c, a.log, tokenError{err})
		return
	}
	a.writeToken(c, acct, t)
}

// selectFromQuery picks the account of a token API request from its query
// (account=, appid=), or answers the error and reports false. A query
// without either costs no parsing: the hot path of a single account.
func (a *tokenAPI) selectFromQuery(c *gin.Context) (*Account, bool) {
	var name, appID string
	if raw := c.Request.URL.RawQuery; raw != "" {
		q := c.Request.URL.Query()
		name, appID = q.Get("account"), q.Get("appid")
	}
	return a.selectAccount(c, name, appID)
}

// selectAccount picks the account named by name or appID (Select) that
// has a token, or answers the error and reports false.
func (a *tokenAPI) selectAccount(c *gin.Context, name, appID string) (*Account, bool) {
	acct, err := a.accounts.Select(name, appID)
	if err == nil && acct.Tokens == nil {
		err = &noTokenError{acct.Name}
	}
	if err != nil {
		writeError(c, a.log, err)
		return nil, false
	}
	return acct, true
}

// noTokenError is an account that makes no active calls, and so has no
// token to hand out (404).
type noTokenError struct{ name string }

func (e *noTokenError) Error() string {
	return "account " + e.name + " has no app secret configured, so no token"
}

func (a *tokenAPI) writeToken(c *gin.Context, acct *Account, t token.Token) {
	now := a.now()
	r := acct.rendered.Load()
	if r == nil || r.at != now.Unix() || r.value != t.Value.Reveal() {
		b := appendTokenJSON(make([]byte, 0, 96+len(t.Value)), t, now, true)
		r = &renderedToken{value: t.Value.Reveal(), at: now.Unix(), body: b}
		acct.rendered.Store(r)
	}
	h := c.Writer.Header()
	h["Content-Type"] = jsonHeader
	h["Cache-Control"] = noStoreHeader
	c.Writer.WriteHeader(http.StatusOK)
	c.Writer.Write(r.body)
}

// appendTokenJSON renders t as WeChat's token answer — access_token and
// expires_in, the seconds left at now — plus, for our own API, expires_at.
// It is built by hand: /api/token is the endpoint every service polls.
func appendTokenJSON(b []byte, t token.Token, now time.Time, expiresAt bool) []byte {
	b = append(b, '{')
	b = appendTokenFields(b, t, now)
	if expiresAt {
		b = append(b, `,"expires_at":"`...)
		b = t.ExpiresAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// appendTokenFields renders the fields every token answer has:
// "access_token":..,"expires_in":...
func appendTokenFields(b []byte, t token.Token, now time.Time) []byte {
	b = append(b, `"access_token":`...)
	b = appendJSONString(b, t.Value.Reveal())
	b = append(b, `,"expires_in":`...)
	return strconv.AppendInt(b, secondsLeft(t, now), 10)
}

var (
	jsonHeader    = []string{"application/json; charset=utf-8"}
	noStoreHeader = []string{"no-store"}
)

// refresh answers POST /api/token/refresh: a business service that saw
// 40001/42001 reports the token it used; only a token that is still current
// causes a fetch, and concurrent reports of it share one. The body names
// the account ("account" or "appid") beside "stale_token"; the query may
// too, as on GET.
func (a *tokenAPI) refresh(c *gin.Context) {
	var req struct {
		StaleToken string `json:"stale_token"`
		Account    string `json:"account"`
		AppID      string `json:"appid"`
	}
	body, err := io.ReadAll(c.Request.Body) // bounded by limitBody
	if err != nil {
		if !errors.As(err, new(*http.MaxBytesError)) {
			err = inputError("cannot read body")
		}
		writeError(c, a.log, err)
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(c, a.log, inputError(`body must be JSON like {"account":"...","stale_token":"..."}`))
			return
		}
	}
	if raw := c.Request.URL.RawQuery; raw != "" {
		q := c.Request.URL.Query()
		req.Account, req.AppID = cmp.Or(req.Account, q.Get("account")), cmp.Or(req.AppID, q.Get("appid"))
	}
	acct, ok := a.selectAccount(c, req.Account, req.AppID)
	if !ok {
		return
	}
	var t token.Token
	if req.StaleToken != "" {
		t, err = acct.Tokens.RefreshIfCurrent(c.Request.Context(), req.StaleToken)
	} else {
		t, err = acct.Tokens.ForceRefresh(c.Request.Context())
	}
	if err != nil {
		writeError(c, a.log, tokenError{err})
		return
	}
	a.writeToken(c, acct, t)
}

func secondsLeft(t token.Token, now time.Time) int64 {
	s := int64(t.ExpiresAt.Sub(now) / time.Second)
	if s < 0 {
		return 0
	}
	return s
}

// appendJSONString quotes s for JSON. Tokens are plain ASCII, so the common
// case is one copy; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
