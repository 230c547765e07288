package handlers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/reply"
	"wxoa/wechat"
	"wxoa/wechat/token"
)

// ForwardCounter is the forwarder as /healthz sees it (*reply.HTTPForwarder).
type ForwardCounter interface {
	Stats() reply.ForwardStats
}

// Managed is a token manager as /healthz sees it.
type Managed interface {
	Name() string
	Stats() token.Stats
}

// tokenHealth is one manager's part of /healthz: never the token itself,
// and errors only by errorClass.
type tokenHealth struct {
	Store           string           `json:"store"` // "ok", or errorClass of the store's error
	HasToken        bool             `json:"has_token"`
	ExpiresIn       int64            `json:"expires_in,omitempty"`
	FetchOK         int64            `json:"fetch_ok"`
	FetchFailed     int64            `json:"fetch_failed"`
	Reports         int64            `json:"reports"`
	ReportsOutdated int64            `json:"reports_outdated"`
	Checks          map[string]int64 `json:"checks"`
	LastError       string           `json:"last_error,omitempty"` // errorClass of the remembered failure
}

// accountHealth is one account's part of /healthz.
type accountHealth struct {
	Kind   Kind                   `json:"kind"`
	Tokens map[string]tokenHealth `json:"tokens,omitempty"`
}

// health answers GET /healthz: 200 while the server serves — a store that
// is down does not stop it serving tokens from memory, so it says
// "degraded" with the class of the store's error instead of failing the
// probe — with the forward counters, so a failed late delivery is visible
// without logs, and each account's tokens. Errors go by class only:
// /healthz answers anyone, and an error's text names internal addresses,
// paths and request URLs (the app secret is in one); the token manager has
// logged the detail.
func health(f ForwardCounter, s *Accounts, now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		body := gin.H{"status": "ok"}
		if f != nil {
			body["forward"] = f.Stats()
		}
		accounts := make(map[string]accountHealth, s.Len())
		for _, a := range s.All() {
			ah := accountHealth{Kind: a.Kind}
			for _, m := range a.Managed {
				h, degraded := tokenHealthOf(m.Stats(), now())
				if degraded {
					body["status"] = "degraded"
				}
				if ah.Tokens == nil {
					ah.Tokens = map[string]tokenHealth{}
				}
				ah.Tokens[m.Name()] = h
			}
			accounts[a.Name] = ah
		}
		body["accounts"] = accounts
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, body)
	}
}

// tokenHealthOf is one manager's part of /healthz; degraded: its store fails.
func tokenHealthOf(st token.Stats, now time.Time) (h tokenHealth, degraded bool) {
	h = tokenHealth{Store: "ok", HasToken: st.HasToken, FetchOK: st.FetchOK, FetchFailed: st.FetchFailed,
		Reports: st.Reports, ReportsOutdated: st.ReportsOutdated, Checks: st.Checks}
	if st.StoreErr != nil {
		h.Store, degraded = errorClass(st.StoreErr), true
	}
	if st.HasToken {
		h.ExpiresIn = secondsLeft(st.Token, now)
	}
	if st.LastError != nil {
		h.LastError = errorClass(st.LastError)
	}
	return h, degraded
}

// errorClass names the kind of a token error for /healthz: "errcode N" when
// WeChat refused (the code is WeChat's, public, and says what to fix);
// "unreachable" when WeChat or the store did not answer in time or at all;
// "error" for anything else.
func errorClass(err error) string {
	var (
		apiErr *wechat.APIError
		netErr net.Error // a syscall.Errno is one too: only its Timeout counts
	)
	switch {
	case errors.As(err, &apiErr):
		return "errcode " + strconv.Itoa(apiErr.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout(),
		errors.As(err, new(*net.OpError)), errors.As(err, new(*net.DNSError)):
		return "unreachable"
	}
	return "error"
}
