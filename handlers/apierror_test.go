package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/internal/logtest"
	"wxoa/wechat"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/token"
)

// Every error the JSON API can meet has its status, its Retry-After and a
// message that keeps the detail in the log; only our own bugs log at ERROR.
func TestWriteError(t *testing.T) {
	quota := &wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/token"}
	tests := []struct {
		name      string
		err       error
		status    int
		retry     string // Retry-After; "" for none
		inBody    string
		logLevel  string // "" for no line
		notInBody string
	}{
		{"input", inputError("missing url"), 400, "", "missing url", "", ""},
		{"bad page url", tokenError{fmt.Errorf("%w: relative", jssdk.ErrBadURL)}, 400, "", "relative", "", ""},
		{"body too large", &http.MaxBytesError{Limit: 4 << 10}, 413, "", "body larger than 4 KiB", "", ""},
		{"no bearer key", errUnauthorized, 401, "", "missing or wrong bearer token", "", ""},
		{"too many failures", &tooManyFailuresError{retryAfter: 6 * time.Second}, 429, "6", "retry later", "", ""},
		{"forced refresh too soon", tokenError{&token.RateLimitError{RetryAfter: 1500 * time.Millisecond}}, 429, "2", "rate-limited", "", ""},
		{"timeout", tokenError{context.DeadlineExceeded}, 504, "", "timed out", "DEBUG", ""},
		{"quota, remembered", tokenError{&token.RememberedError{Err: quota, RetryIn: 61 * time.Second}}, 502, "61", "errcode 45009", "DEBUG", ""},
		{"WeChat busy", tokenError{&wechat.APIError{Code: -1, Endpoint: "/cgi-bin/token"}}, 503, "", "errcode -1", "DEBUG", ""},
		{"store down", tokenError{&token.StoreError{Op: "load", Err: errors.New("dial tcp 10.1.2.3:6379")}}, 503, "", "token unavailable", "DEBUG", "10.1.2.3"},
		{"our bug", errors.New("nil map at 10.1.2.3"), 503, "", "internal error", "ERROR", "10.1.2.3"},
	}
	gin.SetMode(gin.ReleaseMode) // as NewRouter does: no debug banner
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest("GET", "/api/token", nil)
			writeError(c, log, tt.err)
			body := rec.Body.String()
			if rec.Code != tt.status || !strings.Contains(body, tt.inBody) || !strings.HasPrefix(body, `{"error":`) {
				t.Errorf("writeError(%v) = %d %s; want %d with %q", tt.err, rec.Code, body, tt.status, tt.inBody)
			}
			if tt.notInBody != "" && strings.Contains(body, tt.notInBody) {
				t.Errorf("writeError(%v) shows %q to the client: %s", tt.err, tt.notInBody, body)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retry {
				t.Errorf("writeError(%v): Retry-After = %q; want %q", tt.err, got, tt.retry)
			}
			if got := rec.Header().Get("WWW-Authenticate") != ""; got != (tt.status == 401) {
				t.Errorf("writeError(%v): WWW-Authenticate set = %v; want %v", tt.err, got, tt.status == 401)
			}
			if level := logLevel(logs.String()); level != tt.logLevel {
				t.Errorf("writeError(%v) logged at %q; want %q:\n%s", tt.err, level, tt.logLevel, logs.String())
			}
			if !c.IsAborted() {
				t.Errorf("writeError(%v) did not abort the chain", tt.err)
			}
		})
	}
}

func logLevel(line string) string {
	_, rest, ok := strings.Cut(line, "level=")
	if !ok {
		return ""
	}
	level, _, _ := strings.Cut(rest, " ")
	return level
}
