package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/config"
	"wxoa/internal/harness"
	"wxoa/wechat"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/wechattest"
)

const e2eAPIKey = "e2e-api-key-0123456789"

// e2eServer is run("serve") in-process on a free loopback port (the
// harness), against a fake WeChat, with a file token store in a temp dir.
type e2eServer struct {
	*harness.Server
	fake *wechattest.Server
	logs *lockedBuffer
}

// e2eVars is the environment of a server under test; ENV_FILE keeps a
// developer's .env out of it.
func e2eVars(t testing.TB, fake *wechattest.Server) map[string]string {
	return map[string]string{
		"ENV_FILE":          config.NoEnvFile,
		"WECHAT_TOKEN":      "e2etoken",
		"WECHAT_APP_ID":     fake.AppID(),
		"WECHAT_APP_SECRET": fake.AppSecret(),
		"WECHAT_API_BASE":   fake.URL,
		"TOKEN_STORE":       "file:" + filepath.Join(t.TempDir(), "data", "access_token.json"),
		"TOKEN_API_KEY":     e2eAPIKey,
		"LISTEN_ADDR":       freeAddr(t),
		"SHUTDOWN_TIMEOUT":  "10s",
	}
}

func startE2E(t *testing.T, vars map[string]string, fake *wechattest.Server) *e2eServer {
	t.Helper()
	logs := &lockedBuffer{}
	srv, err := harness.Start(context.Background(), run, vars, logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	s := &e2eServer{Server: srv, fake: fake, logs: logs}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *e2eServer) stop(t *testing.T) {
	if err := s.Stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
}

// follower is a user pushing to the server's callback as WeChat does,
// through the server's client.
func (s *e2eServer) follower(t *testing.T, openID string) *wechattest.Follower {
	t.Helper()
	f, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: s.Base + "/wechat", Token: s.Vars["WECHAT_TOKEN"],
		OpenID: openID, Account: "gh_1", Client: s.Client})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (s *e2eServer) request(t *testing.T, method, path, auth, body string) (int, string) {
	t.Helper()
	code, b, err := s.do(method, path, auth, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// get is request for goroutines, which must not call t.Fatal.
func (s *e2eServer) get(path, auth string) (int, string, error) { return s.do("GET", path, auth, "") }

func (s *e2eServer) do(method, path, auth, body string) (int, string, error) {
	req, err := http.NewRequest(method, s.Base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestE2ECallbackAndTokenAPI(t *testing.T) {
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)

	ts := fmt.Sprint(time.Now().Unix())
	sig := wechat.Sign("e2etoken", ts, "n1")
	code, body := s.request(t, "GET", "/wechat?signature="+sig+"&timestamp="+ts+"&nonce=n1&echostr=hello123", "", "")
	if code != 200 || body != "hello123" {
		t.Errorf("GET /wechat = %d %q; want 200 hello123", code, body)
	}
	res, err := s.follower(t, "oUser0001").Send(context.Background(), wechattest.Text("hello"))
	if res.Status != 200 || !strings.Contains(string(res.Body), "<ToUserName><![CDATA[oUser0001]]></ToUserName>") {
		t.Errorf("POST /wechat = %d %q, %v; want a reply to oUser0001", res.Status, res.Body, err)
	}

	auth := "Bearer " + e2eAPIKey
	var first struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	for i := 0; i < 5; i++ {
		code, body = s.request(t, "GET", "/api/token", auth, "")
		if code != 200 || json.Unmarshal([]byte(body), &first) != nil || !fake.Valid(first.AccessToken) {
			t.Fatalf("GET /api/token = %d; want 200 with a valid token", code)
		}
	}
	if got := fake.TokenCalls(); got != 1 {
		t.Errorf("upstream token calls after 5 GETs = %d; want 1", got)
	}
	if code, _ := s.request(t, "GET", "/api/token", "Bearer wrong", ""); code != 401 {
		t.Errorf("GET /api/token with a wrong key = %d; want 401", code)
	}

	// A passive-refresh storm of one token WeChat rejects: one check, one fetch.
	fake.FetchElsewhere()
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b, err := s.do("POST", "/api/token/refresh", auth, `{"stale_token":"`+first.AccessToken+`"}`)
			if err != nil {
				t.Error(err)
			}
			var r struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal([]byte(b), &r)
			tokens[i] = r.AccessToken
		}()
	}
	wg.Wait()
	if got := fake.TokenCalls(); got != 2 {
		t.Errorf("upstream token calls after a storm of 50 reports = %d; want 2", got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] || tok == first.AccessToken || tok == "" {
			t.Fatalf("storm reply %d = %q; want one new token for all", i, tok)
		}
	}
	// An outdated stale token: no fetch.
	s.request(t, "POST", "/api/token/refresh", auth, `{"stale_token":"`+first.AccessToken+`"}`)
	if got := fake.TokenCalls(); got != 2 {
		t.Errorf("upstream token calls after an outdated report = %d; want 2", got)
	}
	// Reports of a token WeChat still accepts: no fetch, however many.
	for i := 0; i < 20; i++ {
		s.request(t, "POST", "/api/token/refresh", auth, `{"stale_token":"`+tokens[0]+`"}`)
	}
	if got, checks := fake.TokenCalls(), fake.Calls("/cgi-bin/get_api_domain_ip"); got != 2 || checks < 2 || checks > 3 {
		t.Errorf("after 20 reports of an accepted token: %d token calls, %d checks; want 2, and 1 more check (2 if a second passed)", got, checks)
	}
	// Logs: no secrets, no query strings.
	logs := s.logs.String()
	for _, secret := range []string{fake.AppSecret(), first.AccessToken, tokens[0], e2eAPIKey, sig} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q", secret[:6]+"...")
		}
	}
}

// The binary's `token` command shares the server's file store and lock:
// no second fetch, which would invalidate the server's token.
func TestE2ETokenCommandSharesStore(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	s := startE2E(t, vars, fake)
	_, body := s.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, "")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "token"}, mapGetenv(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("token: %v", err)
	}
	tok := strings.TrimSpace(out.String())
	if !strings.Contains(body, `"`+tok+`"`) || fake.TokenCalls() != 1 {
		t.Errorf("token printed %q, server has %s, upstream calls %d; want the same token and 1 call", tok, body, fake.TokenCalls())
	}
	info, err := os.Stat(strings.TrimPrefix(vars["TOKEN_STORE"], "file:"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	dir, err := os.Stat(filepath.Dir(strings.TrimPrefix(vars["TOKEN_STORE"], "file:")))
	if err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("token dir: %v, mode %v; want 0700", err, dir.Mode().Perm())
	}
	// A restart reads the persisted token: no fetch.
	s.stop(t)
	s2 := startE2E(t, vars, fake)
	_, body2 := s2.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, "")
	if !strings.Contains(body2, `"`+tok+`"`) || fake.TokenCalls() != 1 {
		t.Errorf("after restart: %s with %d upstream calls; want the same token, 1 call", body2, fake.TokenCalls())
	}
}

// Graceful shutdown lets an in-flight request finish.
func TestE2EGracefulShutdown(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	slow, arrived := make(chan struct{}), make(chan struct{}, 1)
	endpoint := startSlowEndpoint(t, slow, arrived)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - keyword: slow\n    forward: {url: \""+endpoint+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["RULES_FILE"] = rules
	vars["REPLY_DEADLINE"] = "4s"
	s := startE2E(t, vars, fake)
	user := s.follower(t, "oU")
	got := make(chan string, 1)
	go func() {
		res, err := user.Send(context.Background(), wechattest.Text("slow"))
		if err != nil {
			t.Error(err)
		}
		got <- string(res.Body)
	}()
	<-arrived // the callback is in flight, waiting on the forward
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	addr := strings.TrimPrefix(s.Base, "http://")
	waitFor(t, "the server to stop accepting connections", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(slow)
	select {
	case b := <-got:
		if !strings.Contains(b, "slow answer") {
			t.Errorf("in-flight reply = %q; want the endpoint's answer", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	if err := <-stopped; err != nil {
		t.Errorf("serve = %v", err)
	}
}

// startSlowEndpoint is a forward endpoint that signals arrived when a
// request comes in and answers once release is closed.
func startSlowEndpoint(t *testing.T, release <-chan struct{}, arrived chan<- struct{}) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
			io.WriteString(w, `{"type":"text","content":"slow answer"}`)
		case <-r.Context().Done(): // the test failed early and the server went away
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

func TestE2EConfigErrors(t *testing.T) {
	vars := map[string]string{
		"ENV_FILE":              config.NoEnvFile,
		"WECHAT_MAX_CLOCK_SKEW": "5x",
		"LISTEN_ADDR":           "nope",
	}
	err := run(context.Background(), []string{"wxoa"}, mapGetenv(vars), nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with a bad config = nil; want an error")
	}
	for _, want := range []string{"WECHAT_TOKEN", "WECHAT_MAX_CLOCK_SKEW", "LISTEN_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n < 3 {
		t.Errorf("error has %d lines; want one per problem:\n%v", n, err)
	}
}

func TestE2EBrokenRulesStopStartup(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - keyword: a\n    reply: {type: text, content: \"{{.Nope\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["RULES_FILE"] = rules
	err := run(context.Background(), []string{"wxoa"}, mapGetenv(vars), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), rules+":3") {
		t.Errorf("run with broken rules = %v; want an error naming %s:3", err, rules)
	}
}

// `menu get > m.json && menu push m.json` round-trips, personalised menus
// in get's answer included (they stay as they are on WeChat).
func TestE2EMenuGetPushRoundTrip(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	fake.SetMenu(json.RawMessage(`{"button":[{"type":"click","name":"帮助","key":"HELP"},{"name":"更多","sub_button":[{"type":"view","name":"官网","url":"https://example.com/"}]}],"menuid":100}`))
	var got bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "menu", "get"}, mapGetenv(vars), nil, &got, io.Discard); err != nil {
		t.Fatalf("menu get: %v", err)
	}
	file := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(file, got.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	fake.SetMenu(nil)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "menu", "push", file}, mapGetenv(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("menu push of menu get's output: %v", err)
	}
	var pushed struct {
		Button []struct {
			Name      string `json:"name"`
			SubButton []struct {
				URL string `json:"url"`
			} `json:"sub_button"`
		} `json:"button"`
	}
	if err := json.Unmarshal(fake.Menu(), &pushed); err != nil || len(pushed.Button) != 2 || pushed.Button[1].SubButton[0].URL != "https://example.com/" {
		t.Errorf("menu after the round trip = %s, %v; want the same two buttons", fake.Menu(), err)
	}
	if strings.Contains(string(fake.Menu()), "menuid") {
		t.Errorf("pushed menu %s carries get's menuid", fake.Menu())
	}

	// A real account's get output also lists personalised menus, which
	// push leaves alone and says so.
	withConditional := filepath.Join(t.TempDir(), "conditional.json")
	if err := os.WriteFile(withConditional, []byte(`{"menu":{"button":[{"type":"click","name":"帮助","key":"HELP"}],"menuid":1},"conditionalmenu":[{"button":[{"type":"click","name":"VIP","key":"VIP"}],"matchrule":{"tag_id":"2"},"menuid":2}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"wxoa", "menu", "push", withConditional}, mapGetenv(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("menu push with a personalised menu: %v", err)
	}
	if !strings.Contains(out.String(), "1 personalised menu(s)") || strings.Contains(string(fake.Menu()), "VIP") {
		t.Errorf("push of get's output with a personalised menu: stdout %q, pushed %s; want the default menu pushed and the personalised one reported", out.String(), fake.Menu())
	}
}

func TestE2EMenu(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "menu", "push", "templates/menu.json"}, mapGetenv(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("menu push: %v", err)
	}
	if fake.Calls("/cgi-bin/menu/create") != 1 || !strings.Contains(string(fake.Menu()), "HELP") {
		t.Errorf("menu/create calls %d, stored %s; want 1 with the example menu", fake.Calls("/cgi-bin/menu/create"), fake.Menu())
	}
	out.Reset()
	if err := run(context.Background(), []string{"wxoa", "menu", "get"}, mapGetenv(vars), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "HELP") {
		t.Errorf("menu get = %v, %q; want the menu", err, out.String())
	}
	if err := run(context.Background(), []string{"wxoa", "menu", "delete"}, mapGetenv(vars), nil, io.Discard, io.Discard); err != nil {
		t.Errorf("menu delete = %v", err)
	}
	var stderr bytes.Buffer
	out.Reset()
	err := run(context.Background(), []string{"wxoa", "menu", "get"}, mapGetenv(vars), nil, &out, &stderr)
	if err != nil || out.Len() != 0 || !strings.Contains(stderr.String(), "no menu") || !strings.Contains(stderr.String(), "46003") {
		t.Errorf("menu get after delete = %v, stdout %q, stderr %q; want exit 0 and a note that no menu is set (46003)", err, out.String(), stderr.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"button":[{"type":"click","name":"这个名字实在是太长了","key":"K"},{"type":"view","name":"v"},{"type":"click","name":"a","key":"k"},{"type":"click","name":"b","key":"k"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls("/cgi-bin/menu/create") + fake.TokenCalls()
	err = run(context.Background(), []string{"wxoa", "menu", "push", bad}, mapGetenv(vars), nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("menu push of an invalid menu = nil; want an error")
	}
	for _, want := range []string{"button[0]", "button[1]", "at most 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if got := fake.Calls("/cgi-bin/menu/create") + fake.TokenCalls(); got != calls {
		t.Errorf("invalid menu made %d upstream calls; want 0", got-calls)
	}
}

func TestE2EJSSDKConfig(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	s := startE2E(t, vars, fake)
	auth := "Bearer " + e2eAPIKey
	page := "https://example.com/page?x=1"
	for i := 0; i < 3; i++ {
		code, body := s.request(t, "GET", "/api/jssdk/config?url="+url.QueryEscape(page+"#frag"), auth, "")
		var cfg struct {
			AppID     string `json:"appId"`
			Timestamp int64  `json:"timestamp"`
			NonceStr  string `json:"nonceStr"`
			Signature string `json:"signature"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &cfg) != nil {
			t.Fatalf("GET /api/jssdk/config = %d %s; want 200 JSON", code, body)
		}
		want := jssdk.Signature(fake.Ticket(), cfg.NonceStr, cfg.Timestamp, page)
		if cfg.AppID != fake.AppID() || cfg.Signature != want || len(cfg.NonceStr) != 16 {
			t.Errorf("config = %+v; want appId %s and signature %s", cfg, fake.AppID(), want)
		}
	}
	if got := fake.Calls("/cgi-bin/ticket/getticket"); got != 1 {
		t.Errorf("ticket fetches = %d; want 1 (the ticket is managed like the token)", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(strings.TrimPrefix(vars["TOKEN_STORE"], "file:")), "jsapi_ticket.json")); err != nil {
		t.Errorf("ticket not persisted next to the token: %v", err)
	}
	tests := []struct {
		name, query, auth string
		status            int
	}{
		{"no auth", "?url=" + url.QueryEscape(page), "", 401},
		{"missing url", "", auth, 400},
		{"relative url", "?url=%2Fpage", auth, 400},
		{"javascript url", "?url=" + url.QueryEscape("javascript:alert(1)"), auth, 400},
	}
	for _, tt := range tests {
		if code, body := s.request(t, "GET", "/api/jssdk/config"+tt.query, tt.auth, ""); code != tt.status {
			t.Errorf("%s: GET = %d %s; want %d", tt.name, code, body, tt.status)
		}
	}
	if got := fake.Calls("/cgi-bin/ticket/getticket"); got != 1 {
		t.Errorf("bad requests fetched tickets: %d calls; want 1", got)
	}
}

// The ticket fetch carries the access_token, so a token WeChat has retired
// is refreshed once and the fetch retried by the same Transport as every
// SDK call.
func TestE2ETicketFetchAfterTokenInvalidated(t *testing.T) {
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)
	auth := "Bearer " + e2eAPIKey
	if code, _ := s.request(t, "GET", "/api/token", auth, ""); code != 200 {
		t.Fatalf("GET /api/token = %d", code)
	}
	fake.Invalidate()
	code, body := s.request(t, "GET", "/api/jssdk/config?url="+url.QueryEscape("https://example.com/"), auth, "")
	if code != 200 || !strings.Contains(body, `"signature"`) {
		t.Fatalf("GET /api/jssdk/config after invalidation = %d %s; want 200", code, body)
	}
	if tc, tk := fake.TokenCalls(), fake.Calls("/cgi-bin/ticket/getticket"); tc != 2 || tk != 2 {
		t.Errorf("token calls %d, ticket calls %d; want 2 and 2 (rejected, refreshed, retried once)", tc, tk)
	}
}
