package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

const testAPIKey = "test-api-key-0123456789"

// tokensStub is a TokenService whose current token a test controls.
type tokensStub struct {
	cur               atomic.Pointer[token.Token]
	refreshes, forced atomic.Int64
	ForceRefreshErr   error
	CurrentErr        error
}

func newTokensStub(v string) *tokensStub {
	s := &tokensStub{}
	s.cur.Store(&token.Token{Value: wechat.Secret(v), ExpiresAt: fixedNow.Add(2 * time.Hour), FetchedAt: fixedNow})
	return s
}

func (s *tokensStub) Current(context.Context) (token.Token, error) {
	if s.CurrentErr != nil {
		return token.Token{}, s.CurrentErr
	}
	return *s.cur.Load(), nil
}

func (s *tokensStub) RefreshIfCurrent(_ context.Context, stale string) (token.Token, error) {
	t := s.cur.Load()
	if t.Value.Reveal() != stale {
		return *t, nil
	}
	s.refreshes.Add(1)
	n := &token.Token{Value: wechat.Secret(stale + "-new"), ExpiresAt: fixedNow.Add(2 * time.Hour), FetchedAt: fixedNow}
	s.cur.Store(n)
	return *n, nil
}

func (s *tokensStub) ForceRefresh(ctx context.Context) (token.Token, error) {
	s.forced.Add(1)
	if s.ForceRefreshErr != nil {
		return token.Token{}, s.ForceRefreshErr
	}
	return s.RefreshIfCurrent(ctx, s.cur.Load().Value.Reveal())
}

func tokenRouter(t *testing.T, key wechat.Secret, ts TokenService) http.Handler {
	t.Helper()
	h, err := NewRouter(Deps{
		Now: func() time.Time { return fixedNow }, APIKey: key,
		Accounts: accounts(t, testAcct(func(a *Account) { a.Tokens = ts })),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestTokenAPIAuth(t *testing.T) {
	h := tokenRouter(t, testAPIKey, newTokensStub("TOK"))
	off := tokenRouter(t, "", newTokensStub("TOK"))
	tests := []struct {
		name   string
		h      http.Handler
		auth   string
		status int
	}{
		{"right key", h, "Bearer " + testAPIKey, 200},
		{"scheme in lower case", h, "bearer " + testAPIKey, 200},
		{"no header", h, "", 401},
		{"wrong key", h, "Bearer " + testAPIKey + "x", 401},
		{"prefix of key", h, "Bearer " + testAPIKey[:5], 401},
		{"basic auth", h, "Basic " + testAPIKey, 401},
		{"empty bearer", h, "Bearer ", 401},
		{"api off", off, "Bearer " + testAPIKey, 404},
		{"api off, no header", off, "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct{ method, path string }{{"GET", "/api/token"}, {"POST", "/api/token/refresh"}} {
				rec := do(tt.h, r.method, r.path, tt.auth, `{"stale_token":"zzz"}`)
				if rec.Code != tt.status {
					t.Errorf("%s %s with %q = %d; want %d", r.method, r.path, tt.auth, rec.Code, tt.status)
				}
				if strings.Contains(rec.Body.String(), "TOK") && tt.status != 200 {
					t.Errorf("%s leaked the token: %s", tt.name, rec.Body)
				}
			}
		})
	}
	// Drop-in endpoints are off with the API.
	if rec := do(off, "GET", "/cgi-bin/token?grant_type=client_credential&appid=wxapp&secret=appsecret", "", ""); rec.Code != 404 {
		t.Errorf("drop-in with the API off = %d; want 404", rec.Code)
	}
}

func TestTokenAPIGet(t *testing.T) {
	h := tokenRouter(t, testAPIKey, newTokensStub("ACCESS_TOKEN_VALUE"))
	rec := do(h, "GET", "/api/token", "Bearer "+testAPIKey, "")
	var got struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		ExpiresAt   string `json:"expires_at"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /api/token = %s: %v", rec.Body, err)
	}
	want := fixedNow.Add(2 * time.Hour).UTC().Format(time.RFC3339)
	if got.AccessToken != "ACCESS_TOKEN_VALUE" || got.ExpiresIn != 7200 || got.ExpiresAt != want {
		t.Errorf("GET /api/token = %+v; want ACCESS_TOKEN_VALUE, 7200, %s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestTokenAPIRefresh(t *testing.T) {
	stub := newTokensStub("OLD")
	h := tokenRouter(t, testAPIKey, stub)
	auth := "Bearer " + testAPIKey
	tests := []struct {
		name                   string
		body                   string
		status                 int
		wantToken              string
		wantRefresh, wantForce int64
	}{
		{"outdated stale token: no fetch", `{"stale_token":"SOMETHING_ELSE"}`, 200, "OLD", 0, 0},
		{"current stale token: refresh", `{"stale_token":"OLD"}`, 200, "OLD-new", 1, 0},
		{"same report again: no fetch", `{"stale_token":"OLD"}`, 200, "OLD-new", 1, 0},
		{"no stale token: forced", `{}`, 200, "OLD-new-new", 2, 1},
		{"empty body: forced", ``, 200, "OLD-new-new-new", 3, 2},
		{"malformed json", `{"stale_token":`, 400, "", 3, 2},
		{"wrong type", `{"stale_token":5}`, 400, "", 3, 2},
		{"too large", `{"stale_token":"` + strings.Repeat("a", 5000) + `"}`, 413, "", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, "POST", "/api/token/refresh", auth, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("POST refresh (%s) = %d %.200s; want %d", tt.name, rec.Code, rec.Body, tt.status)
			}
			if tt.wantToken != "" && !strings.Contains(rec.Body.String(), `"access_token":"`+tt.wantToken+`"`) {
				t.Errorf("body = %s; want token %s", rec.Body, tt.wantToken)
			}
			if r, f := stub.refreshes.Load(), stub.forced.Load(); r != tt.wantRefresh || f != tt.wantForce {
				t.Errorf("refreshes, forced = %d, %d; want %d, %d", r, f, tt.wantRefresh, tt.wantForce)
			}
		})
	}
}

func TestTokenAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"rate limited", token.ErrRateLimited, 429},
		{"bad credentials", &wechat.APIError{Code: 40125, Endpoint: "/cgi-bin/token"}, 502},
		{"ip whitelist", &wechat.APIError{Code: 40164, Msg: "invalid ip 1.2.3.4", Endpoint: "/cgi-bin/token"}, 502},
		{"timeout", context.DeadlineExceeded, 504},
		{"upstream down", &wechat.APIError{Code: -1, Endpoint: "/cgi-bin/token"}, 503},
		{"store down", errors.New("redis: dial tcp 10.1.2.3:6379: connection refused"), 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newTokensStub("T")
			stub.ForceRefreshErr = tt.err
			h := tokenRouter(t, testAPIKey, stub)
			rec := do(h, "POST", "/api/token/refresh", "Bearer "+testAPIKey, "")
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), "error") {
				t.Errorf("refresh with %v = %d %s; want %d with an error", tt.err, rec.Code, rec.Body, tt.status)
			}
			if strings.Contains(rec.Body.String(), "10.1.2.3") {
				t.Errorf("answer shows an internal address: %s", rec.Body)
			}
			var apiErr *wechat.APIError
			if errors.As(tt.err, &apiErr) && !strings.Contains(rec.Body.String(), fmt.Sprint(apiErr.Code)) {
				t.Errorf("answer %s does not name errcode %d", rec.Body, apiErr.Code)
			}
		})
	}
}

func TestDropIn(t *testing.T) {
	stub := newTokensStub("SHARED")
	h := tokenRouter(t, testAPIKey, stub)
	classic := func(q string) string { return "/cgi-bin/token?" + q }
	tests := []struct {
		name, method, target, body string
		wantCode                   int // errcode; 0 = success
	}{
		{"classic ok", "GET", classic("grant_type=client_credential&appid=wxapp&secret=appsecret"), "", 0},
		{"classic wrong appid", "GET", classic("grant_type=client_credential&appid=wxother&secret=appsecret"), "", 40013},
		{"classic wrong secret", "GET", classic("grant_type=client_credential&appid=wxapp&secret=nope"), "", 40125},
		{"classic no secret", "GET", classic("grant_type=client_credential&appid=wxapp"), "", 41004},
		{"classic no appid", "GET", classic("grant_type=client_credential&secret=appsecret"), "", 41002},
		{"classic bad grant", "GET", classic("grant_type=password&appid=wxapp&secret=appsecret"), "", 40002},
		{"stable ok", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wxapp","secret":"appsecret"}`, 0},
		{"stable wrong secret", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wxapp","secret":"x"}`, 40125},
		{"stable wrong appid", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wx1","secret":"appsecret"}`, 40013},
		{"stable not json", "POST", "/cgi-bin/stable_token", `grant_type=client_credential`, 47001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.target, "", tt.body)
			if rec.Code != 200 {
				t.Fatalf("%s = HTTP %d; WeChat answers 200", tt.target, rec.Code)
			}
			var got struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int    `json:"expires_in"`
				ErrCode     int    `json:"errcode"`
				ErrMsg      string `json:"errmsg"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if got.ErrCode != tt.wantCode {
				t.Errorf("errcode = %d (%s); want %d", got.ErrCode, got.ErrMsg, tt.wantCode)
			}
			if tt.wantCode == 0 && (got.AccessToken != "SHARED" || got.ExpiresIn != 7200) {
				t.Errorf("answer = %+v; want SHARED, 7200", got)
			}
			if tt.wantCode != 0 && got.AccessToken != "" {
				t.Errorf("error answer carries a token: %s", rec.Body)
			}
		})
	}
	if stub.refreshes.Load() != 0 || stub.forced.Load() != 0 {
		t.Errorf("drop-in caused refreshes: %d forced %d; want none", stub.refreshes.Load(), stub.forced.Load())
	}
}
