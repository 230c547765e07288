package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
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

type tokenAPI struct {
	tokens    TokenService
	appID     string
	appSecret wechat.Secret
	now       func() time.Time
	log       *slog.Logger
	lim       *authLimiter

	// rendered is the last GET /api/token answer: it only changes when the
	// token does or a second passes, and this endpoint is polled hard.
	rendered atomic.Pointer[renderedToken]
}

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

// current answers GET /api/token. The JSON is built by hand: this is the
// endpoint every business service polls.
func (a *tokenAPI) current(c *gin.Context) {
	t, err := a.tokens.Current(c.Request.Context())
	if err != nil {
		writeError(c, a.log, tokenError{err})
		return
	}
	a.writeToken(c, t)
}

func (a *tokenAPI) writeToken(c *gin.Context, t token.Token) {
	now := a.now()
	r := a.rendered.Load()
	if r == nil || r.at != now.Unix() || r.value != t.Value.Reveal() {
		b := appendTokenJSON(make([]byte, 0, 96+len(t.Value)), t, now, true)
		r = &renderedToken{value: t.Value.Reveal(), at: now.Unix(), body: b}
		a.rendered.Store(r)
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
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, t.Value.Reveal())
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, secondsLeft(t, now), 10)
	if expiresAt {
		b = append(b, `,"expires_at":"`...)
		b = t.ExpiresAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

var (
	jsonHeader    = []string{"application/json; charset=utf-8"}
	noStoreHeader = []string{"no-store"}
)

// refresh answers POST /api/token/refresh: a business service that saw
// 40001/42001 reports the token it used; only a token that is still current
// causes a fetch, and concurrent reports of it share one.
func (a *tokenAPI) refresh(c *gin.Context) {
	var req struct {
		StaleToken string `json:"stale_token"`
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
			writeError(c, a.log, inputError(`body must be JSON like {"stale_token":"..."}`))
			return
		}
	}
	var t token.Token
	if req.StaleToken != "" {
		t, err = a.tokens.RefreshIfCurrent(c.Request.Context(), req.StaleToken)
	} else {
		t, err = a.tokens.ForceRefresh(c.Request.Context())
	}
	if err != nil {
		writeError(c, a.log, tokenError{err})
		return
	}
	a.writeToken(c, t)
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
