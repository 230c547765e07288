package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/reply"
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

// tokenHealth is one manager's part of /healthz: never the token itself.
type tokenHealth struct {
	Store           string           `json:"store"` // "ok" or the store's error
	HasToken        bool             `json:"has_token"`
	ExpiresIn       int64            `json:"expires_in,omitempty"`
	FetchOK         int64            `json:"fetch_ok"`
	FetchFailed     int64            `json:"fetch_failed"`
	Reports         int64            `json:"reports"`
	ReportsOutdated int64            `json:"reports_outdated"`
	Checks          map[string]int64 `json:"checks"`
	LastError       string           `json:"last_error,omitempty"`
}

// health answers GET /healthz: 200 while the server serves — a store that
// is down does not stop it serving tokens from memory, so it says
// "degraded" with the store's error instead of failing the probe — with
// the forward counters, so a failed late delivery is visible without logs.
func health(f ForwardCounter, managed []Managed, now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		body := gin.H{"status": "ok"}
		if f != nil {
			body["forward"] = f.Stats()
		}
		if len(managed) > 0 {
			tokens := map[string]tokenHealth{}
			for _, m := range managed {
				st := m.Stats()
				h := tokenHealth{Store: "ok", HasToken: st.HasToken, FetchOK: st.FetchOK, FetchFailed: st.FetchFailed,
					Reports: st.Reports, ReportsOutdated: st.ReportsOutdated, Checks: st.Checks}
				if st.StoreErr != nil {
					h.Store = st.StoreErr.Error()
					body["status"] = "degraded"
				}
				if st.HasToken {
					h.ExpiresIn = secondsLeft(st.Token, now())
				}
				if st.LastError != nil {
					h.LastError = st.LastError.Error()
				}
				tokens[m.Name()] = h
			}
			body["tokens"] = tokens
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, body)
	}
}
