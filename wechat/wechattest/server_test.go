package wechattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// answer is the union of the fields the fake's endpoints answer.
type answer struct {
	Status      int
	ErrCode     int             `json:"errcode"`
	ErrMsg      string          `json:"errmsg"`
	AccessToken string          `json:"access_token"`
	Ticket      string          `json:"ticket"`
	ExpiresIn   int64           `json:"expires_in"`
	Menu        json.RawMessage `json:"menu"`
	IPList      []string        `json:"ip_list"`
}

// call sends one request to s and decodes the answer. It reports problems
// with t.Errorf, not t.Fatal, so that goroutines may use it.
func call(t *testing.T, s *wechattest.Server, method, path string, q url.Values, body any) answer {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Errorf("marshal %v: %v", body, err)
			return answer{}
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path+"?"+q.Encode(), bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return answer{}
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return answer{}
	}
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound {
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Errorf("%s %s: decode: %v", method, path, err)
		}
	}
	return a
}

func classic(t *testing.T, s *wechattest.Server) answer {
	t.Helper()
	return call(t, s, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {s.AppID()}, "secret": {s.AppSecret()}}, nil)
}

func stable(t *testing.T, s *wechattest.Server, force bool) answer {
	t.Helper()
	return call(t, s, "POST", "/cgi-bin/stable_token", nil, map[string]any{
		"grant_type": "client_credential", "appid": s.AppID(), "secret": s.AppSecret(), "force_refresh": force,
	})
}

// useToken calls a protected endpoint with tok and returns the errcode;
// 46003 (no menu) means the token was accepted.
func useToken(t *testing.T, s *wechattest.Server, tok string) int {
	t.Helper()
	return call(t, s, "GET", "/cgi-bin/menu/get", url.Values{"access_token": {tok}}, nil).ErrCode
}

func newClock() *wechattest.Clock {
	return wechattest.NewClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
}

func TestClassicTokenOverlap(t *testing.T) {
	clock := newClock()
	s := wechattest.NewServer(t, func(o *wechattest.Options) {
		o.Now = clock.Now
		o.ExpiresIn = time.Hour
		o.Overlap = 5 * time.Minute
	})
	first := classic(t, s)
	if first.ErrCode != 0 || len(first.AccessToken) < 100 || first.ExpiresIn != 3600 {
		t.Fatalf("token = (errcode %d, len %d, expires_in %d); want (0, >=100, 3600)", first.ErrCode, len(first.AccessToken), first.ExpiresIn)
	}
	second := classic(t, s)
	if second.AccessToken == first.AccessToken || s.Current() != second.AccessToken {
		t.Fatalf("second token equals first or is not Current(); want a new current token")
	}
	steps := []struct {
		advance               time.Duration
		wantFirst, wantSecond int
	}{
		{0, 46003, 46003},
		{5*time.Minute - time.Second, 46003, 46003},
		{time.Second, 40001, 46003}, // overlap over: the old token is invalid
		{time.Hour, 40001, 42001},   // the new one expired
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if got := useToken(t, s, first.AccessToken); got != st.wantFirst {
			t.Errorf("after +%v: first token errcode = %d; want %d", st.advance, got, st.wantFirst)
		}
		if got := useToken(t, s, second.AccessToken); got != st.wantSecond {
			t.Errorf("after +%v: second token errcode = %d; want %d", st.advance, got, st.wantSecond)
		}
	}
	if s.Valid(second.AccessToken) {
		t.Errorf("Valid(expired) = true; want false")
	}
}

func TestCredentialChecks(t *testing.T) {
	s := wechattest.NewServer(t)
	good := url.Values{"grant_type": {"client_credential"}, "appid": {s.AppID()}, "secret": {s.AppSecret()}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"ok", good, 0},
		{"wrong appid", with("appid", "wxother"), 40013},
		{"wrong secret", with("secret", "nope"), 40125},
		{"bad grant_type", with("grant_type", "password"), 40002},
		{"missing appid", with("appid", ""), 41002},
		{"missing secret", with("secret", ""), 41004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, s, "GET", "/cgi-bin/token", tt.q, nil).ErrCode; got != tt.want {
				t.Errorf("GET /cgi-bin/token = errcode %d; want %d", got, tt.want)
			}
			body := map[string]any{"grant_type": tt.q.Get("grant_type"), "appid": tt.q.Get("appid"), "secret": tt.q.Get("secret")}
			if got := call(t, s, "POST", "/cgi-bin/stable_token", nil, body).ErrCode; got != tt.want {
				t.Errorf("POST /cgi-bin/stable_token = errcode %d; want %d", got, tt.want)
			}
		})
	}
	if got := call(t, s, "GET", "/cgi-bin/stable_token", nil, nil).ErrCode; got != 43002 {
		t.Errorf("GET /cgi-bin/stable_token = errcode %d; want 43002", got)
	}
}

func TestStableToken(t *testing.T) {
	clock := newClock()
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = clock.Now })
	a := stable(t, s, false)
	if a.ErrCode != 0 || a.ExpiresIn != 7200 {
		t.Fatalf("stable_token = (errcode %d, expires_in %d); want (0, 7200)", a.ErrCode, a.ExpiresIn)
	}
	clock.Advance(100 * time.Second)
	b := stable(t, s, false)
	if b.AccessToken != a.AccessToken || b.ExpiresIn != 7100 {
		t.Errorf("stable_token again = (same %v, expires_in %d); want (true, 7100)", b.AccessToken == a.AccessToken, b.ExpiresIn)
	}
	// A classic fetch does not touch the stable token: the two are isolated.
	classic(t, s)
	clock.Advance(10 * time.Minute)
	if !s.Valid(a.AccessToken) {
		t.Errorf("stable token invalid after a classic fetch; want valid")
	}

	forced := stable(t, s, true)
	if forced.AccessToken == a.AccessToken || forced.ExpiresIn != 7200 {
		t.Fatalf("force_refresh = (same %v, expires_in %d); want a new token, 7200", forced.AccessToken == a.AccessToken, forced.ExpiresIn)
	}
	clock.Advance(10 * time.Second)
	if again := stable(t, s, true); again.AccessToken != forced.AccessToken {
		t.Errorf("force_refresh within 30 s minted a new token; want the current one")
	}
	if !s.Valid(a.AccessToken) {
		t.Errorf("previous token invalid within the overlap; want valid")
	}
	clock.Advance(5 * time.Minute)
	if s.Valid(a.AccessToken) {
		t.Errorf("previous token valid after the overlap; want invalid")
	}

	// Two forces used so far today; 18 more are allowed, the next is 45009.
	for i := 3; i <= 20; i++ {
		clock.Advance(31 * time.Second)
		if got := stable(t, s, true); got.ErrCode != 0 {
			t.Fatalf("force_refresh #%d = errcode %d; want 0", i, got.ErrCode)
		}
	}
	clock.Advance(31 * time.Second)
	if got := stable(t, s, true).ErrCode; got != 45009 {
		t.Errorf("force_refresh #21 = errcode %d; want 45009", got)
	}
	if got := stable(t, s, false).ErrCode; got != 0 {
		t.Errorf("normal stable_token after the force limit = errcode %d; want 0", got)
	}
	clock.Advance(24 * time.Hour)
	if got := stable(t, s, true).ErrCode; got != 0 {
		t.Errorf("force_refresh next day = errcode %d; want 0", got)
	}
	// 4 before the loop, 18 in it, the refused one, one normal, the next day's.
	if got := s.Calls("/cgi-bin/stable_token"); got != 25 {
		t.Errorf("Calls(stable_token) = %d; want 25", got)
	}
	if got := s.TokenCalls(); got != 26 { // plus the classic fetch
		t.Errorf("TokenCalls() = %d; want 26", got)
	}
}

func TestStableTokenAfterExpiry(t *testing.T) {
	clock := newClock()
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = clock.Now; o.ExpiresIn = time.Minute })
	a := stable(t, s, false)
	clock.Advance(time.Minute)
	b := stable(t, s, false)
	if b.AccessToken == a.AccessToken || b.ExpiresIn != 60 {
		t.Errorf("stable_token after expiry = (same %v, expires_in %d); want a new token, 60", b.AccessToken == a.AccessToken, b.ExpiresIn)
	}
	s.Invalidate(b.AccessToken)
	if c := stable(t, s, false); c.AccessToken == b.AccessToken {
		t.Errorf("stable_token after Invalidate returned the invalidated token")
	}
}

func TestHangEndsWithClientOrClose(t *testing.T) {
	s := wechattest.New(wechattest.Options{})
	s.Fail(wechattest.FailHang, -1)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/cgi-bin/token", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("hanging request answered %d; want a context error", resp.StatusCode)
	}

	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL+"/cgi-bin/token", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for s.TokenCalls() < 2 {
		time.Sleep(time.Millisecond)
	}
	s.Close() // must return: Close releases the hanging handler
	<-done
	s.Close() // idempotent
}
