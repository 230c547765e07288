package token_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/logtest"
	"wxoa/internal/redistest"
	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

// These tests go through the real API client against wechattest, the fake
// WeChat on 127.0.0.1, and count what reaches it.

type env struct {
	srv  *wechattest.Server
	logs *logtest.Buffer
	log  *slog.Logger
	now  func() time.Time
	seen []string // token values handed out, for the log scan
	mu   sync.Mutex
}

// newEnv starts a fake WeChat sharing clock now (nil: real time) and checks
// at cleanup that no token value reached the logs.
func newEnv(t *testing.T, now func() time.Time) *env {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	e := &env{logs: &logtest.Buffer{}, now: now}
	e.srv = wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = now })
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, v := range append(e.seen, e.srv.Current()) {
			if v != "" && strings.Contains(e.logs.String(), v) {
				t.Errorf("logs contain token %q", v)
			}
		}
	})
	return e
}

func (e *env) saw(v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, v)
}

// client is an API client for the fake with no retries, so upstream call
// counts equal fetch counts.
func (e *env) client(t *testing.T, mode api.Mode) *api.Client {
	t.Helper()
	c, err := api.New(api.Config{
		BaseURL: e.srv.URL, AppID: e.srv.AppID(), AppSecret: wechat.Secret(e.srv.AppSecret()),
		Mode: mode, HTTP: e.srv.Client(), Logger: e.log, Now: e.now, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) manager(t *testing.T, store token.Store, mode api.Mode, tweak ...func(*token.Config)) *token.Manager {
	t.Helper()
	cfg := token.Config{Name: "access_token", Store: store, Fetcher: e.client(t, mode).AccessTokenFetcher(),
		Logger: e.log, Now: e.now, FetchTimeout: 2 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	m, err := token.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func open(t *testing.T, spec string) token.Store {
	t.Helper()
	sp, err := token.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, c, err := token.Open(sp, token.Options{Name: "access_token", AppID: "wxtest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s
}

// hammer calls Token from n goroutines at once and returns what they got.
func hammer(t *testing.T, e *env, n int, ms ...*token.Manager) []string {
	t.Helper()
	got := make([]string, n)
	errs := make([]error, n)
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			got[i], errs[i] = ms[i%len(ms)].Token(context.Background())
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] || got[0] == "" {
			t.Fatalf("Token() #%d = %q, %v; want %q like the others", i, got[i], errs[i], got[0])
		}
	}
	e.saw(got[0])
	return got
}

func TestIntegrationColdStartOneCall(t *testing.T) {
	for _, mode := range []api.Mode{api.ModeClassic, api.ModeStable} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, nil)
			m := e.manager(t, open(t, "memory"), mode)
			got := hammer(t, e, 1000, m)
			if n := e.srv.TokenCalls(); n != 1 {
				t.Errorf("TokenCalls() = %d; want 1", n)
			}
			if got[0] != e.srv.Current() {
				t.Errorf("Token() = %q; want the fake's current token %q", got[0], e.srv.Current())
			}
		})
	}
}

func TestIntegrationRestartReadsFile(t *testing.T) {
	e := newEnv(t, nil)
	spec := "file:" + filepath.Join(t.TempDir(), "access_token.json")
	first := e.manager(t, open(t, spec), api.ModeStable)
	want := hammer(t, e, 10, first)[0]
	first.Close()
	second := e.manager(t, open(t, spec), api.ModeStable)
	if got, err := second.Token(context.Background()); got != want || err != nil {
		t.Errorf("Token() after restart = %q, %v; want %q", got, err, want)
	}
	if n := e.srv.TokenCalls(); n != 1 {
		t.Errorf("TokenCalls() = %d; want 1 (none after the restart)", n)
	}
}

func TestIntegrationRedisTwoHosts(t *testing.T) {
	url := redistest.URL(t)
	e := newEnv(t, nil)
	key := "wxoa:itest:" + time.Now().Format("150405.000000000")
	hosts := make([]*token.Manager, 2)
	for i := range hosts {
		opts, _ := redis.ParseURL(url)
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		hosts[i] = e.manager(t, token.NewCachedStore(token.NewRedisStore(c, key, e.log)), api.ModeStable)
	}
	hammer(t, e, 1000, hosts...)
	if n := e.srv.TokenCalls(); n != 1 {
		t.Errorf("TokenCalls() = %d; want 1", n)
	}
	// A third host restarting later reads the shared token: no call.
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	late := e.manager(t, token.NewCachedStore(token.NewRedisStore(c, key, e.log)), api.ModeStable)
	if _, err := late.Token(context.Background()); err != nil || e.srv.TokenCalls() != 1 {
		t.Errorf("late host Token() = %v with %d calls; want the shared token, 1 call", err, e.srv.TokenCalls())
	}
}

func TestIntegrationRejectedTokenStorm(t *testing.T) {
	e := newEnv(t, nil)
	m := e.manager(t, open(t, "memory"), api.ModeStable)
	stale := hammer(t, e, 10, m)[0]
	e.srv.Invalidate(stale) // WeChat now answers 40001 for it
	var wg sync.WaitGroup
	got := make([]token.Token, 200)
	for i := range got {
		wg.Go(func() { got[i], _ = m.RefreshIfCurrent(context.Background(), stale) })
	}
	wg.Wait()
	if n := e.srv.TokenCalls(); n != 2 {
		t.Errorf("TokenCalls() = %d; want 2 (initial + one forced refresh)", n)
	}
	fresh := got[0].Value.Reveal()
	e.saw(fresh)
	for i := range got {
		if got[i].Value.Reveal() != fresh || fresh == stale || !e.srv.Valid(fresh) {
			t.Fatalf("RefreshIfCurrent #%d = %q; want one new valid token %q", i, got[i].Value.Reveal(), fresh)
		}
	}
	if cur, err := m.RefreshIfCurrent(context.Background(), stale); err != nil || cur.Value.Reveal() != fresh || e.srv.TokenCalls() != 2 {
		t.Errorf("RefreshIfCurrent(outdated) = %q, %v after %d calls; want %q after 2", cur.Value.Reveal(), err, e.srv.TokenCalls(), fresh)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
