package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

// fixedManager is a token manager as /healthz sees it, with set Stats.
type fixedManager struct{ stats token.Stats }

func (fixedManager) Name() string         { return "access_token" }
func (m fixedManager) Stats() token.Stats { return m.stats }

// TestHealthTokens checks what the unauthenticated /healthz says about a
// token: the store's state and the last failure as a class an operator
// can alert on, never the error's text, which names internal addresses,
// paths and, in a URL, the app secret (the log has the detail).
func TestHealthTokens(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 6379},
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name       string
		stats      token.Stats
		wantStatus string
		wantStore  string
		wantLast   string // "" for none
		secret     string // in no part of the answer
	}{
		{"healthy", token.Stats{HasToken: true, Token: token.Token{ExpiresAt: fixedNow.Add(300 * time.Second)}},
			"ok", "ok", "", ""},
		{"store unreachable", token.Stats{StoreErr: &token.StoreError{Op: "load", Err: dial}},
			"degraded", "unreachable", "", "10.1.2.3"},
		{"store timed out", token.Stats{StoreErr: &token.StoreError{Op: "lock", Err: fmt.Errorf("redis 10.1.2.3:6379: %w", context.DeadlineExceeded)}},
			"degraded", "unreachable", "", "10.1.2.3"},
		{"store failing otherwise", token.Stats{StoreErr: &token.StoreError{Op: "save",
			Err: &fs.PathError{Op: "open", Path: "/srv/wxoa/access_token.json", Err: syscall.ENOENT}}},
			"degraded", "error", "", "/srv/wxoa"},
		{"WeChat refused", token.Stats{LastError: fmt.Errorf("fetch: %w", &wechat.APIError{Code: 40164,
			Msg: "invalid ip 10.1.2.3 ipv6 ::ffff:10.1.2.3, not in whitelist", Endpoint: "/cgi-bin/token"})},
			"ok", "ok", "errcode 40164", "10.1.2.3"},
		{"WeChat unreachable", token.Stats{LastError: &url.Error{Op: "Get",
			URL: "https://api.weixin.qq.com/cgi-bin/token?appid=wx1&secret=s3cr3t", Err: dial}},
			"ok", "ok", "unreachable", "s3cr3t"},
		{"WeChat's name not resolved", token.Stats{LastError: &url.Error{Op: "Get", URL: "https://api.weixin.qq.com/cgi-bin/token",
			Err: &net.DNSError{Err: "no such host", Name: "api.weixin.qq.com", Server: "10.0.0.53:53"}}},
			"ok", "ok", "unreachable", "10.0.0.53"},
		{"store down, nothing in memory", token.Stats{StoreErr: &token.StoreError{Op: "load", Err: dial},
			LastError: &token.StoreError{Op: "load", Err: dial}},
			"degraded", "unreachable", "unreachable", "10.1.2.3"},
		{"a failure of another kind", token.Stats{LastError: errors.New("token response from 10.1.2.3: unexpected EOF")},
			"ok", "ok", "error", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewRouter(Deps{Now: func() time.Time { return fixedNow },
				Accounts: accounts(t, testAcct(func(a *Account) { a.Managed = []Managed{fixedManager{tt.stats}} }))})
			if err != nil {
				t.Fatal(err)
			}
			rec := serve(h, "GET", "/healthz", nil)
			body := rec.Body.String()
			var got struct {
				Status   string `json:"status"`
				Accounts map[string]struct {
					Kind   string `json:"kind"`
					Tokens map[string]struct {
						Store     string `json:"store"`
						LastError string `json:"last_error"`
					} `json:"tokens"`
				} `json:"accounts"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
				t.Fatalf("GET /healthz = %d %s; want 200 with JSON", rec.Code, body)
			}
			if k := got.Accounts["oa"].Kind; k != string(OfficialAccount) {
				t.Errorf("GET /healthz account kind = %q; want %q", k, OfficialAccount)
			}
			tok, ok := got.Accounts["oa"].Tokens["access_token"]
			if !ok || got.Status != tt.wantStatus || tok.Store != tt.wantStore || tok.LastError != tt.wantLast {
				t.Errorf("GET /healthz = %s; want status %q, store %q, last_error %q", body, tt.wantStatus, tt.wantStore, tt.wantLast)
			}
			if tt.wantLast == "" && strings.Contains(body, "last_error") {
				t.Errorf("GET /healthz = %s; want no last_error", body)
			}
			if tt.secret != "" && strings.Contains(body, tt.secret) {
				t.Errorf("GET /healthz shows %q to anyone who asks: %s", tt.secret, body)
			}
		})
	}
}
