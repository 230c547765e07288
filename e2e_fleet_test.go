package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"wxoa/internal/redistest"
	"wxoa/wechat/wechattest"
)

// fleet starts two instances sharing store (TOKEN_STORE) against fake.
func fleet(t *testing.T, fake *wechattest.Server, store string, extra map[string]string) (a, b *proc) {
	t.Helper()
	ps := make([]*proc, 2)
	for i, name := range []string{"A", "B"} {
		vars := e2eVars(t, fake)
		vars["TOKEN_STORE"] = store
		for k, v := range extra {
			vars[k] = v
		}
		ps[i] = startProc(t, name, vars)
	}
	return ps[0], ps[1]
}

// sameToken asks both instances, on /api/token and the drop-in endpoint,
// and fails unless all four answers are want (or, with want "", equal).
func sameToken(t *testing.T, fake *wechattest.Server, want string, ps ...*proc) string {
	t.Helper()
	for _, p := range ps {
		for _, get := range []func() (string, error){p.token, func() (string, error) { return p.dropInToken(fake.AppID(), fake.AppSecret()) }} {
			v, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if want == "" {
				want = v
			}
			if v != want {
				t.Fatalf("%s serves %.12s...; want %.12s...", p.name, v, want)
			}
		}
	}
	return want
}

// reportOnA has WeChat retire the fleet's token (another system fetched
// one), reports it stale on A, and checks that B serves A's new token on
// /api/token and the drop-in endpoint within a second, with exactly one
// upstream fetch for the fleet.
func reportOnA(t *testing.T, fake *wechattest.Server, a, b *proc, stale string) {
	t.Helper()
	calls := fake.TokenCalls()
	fake.FetchElsewhere()
	code, body, err := a.do("POST", "/api/token/refresh", "Bearer "+e2eAPIKey, `{"stale_token":"`+stale+`"}`)
	if err != nil || code != 200 {
		t.Fatalf("A POST /api/token/refresh = %d %s, %v", code, body, err)
	}
	fresh, err := a.token()
	if err != nil || fresh == stale {
		t.Fatalf("A after the report serves %.12s..., %v; want a new token", fresh, err)
	}
	d := waitFor(t, "B to serve A's new token", func() bool {
		v, err := b.token()
		w, err2 := b.dropInToken(fake.AppID(), fake.AppSecret())
		return err == nil && err2 == nil && v == fresh && w == fresh
	})
	t.Logf("B served the new token %v after A's refresh", d.Round(time.Millisecond))
	if d > time.Second {
		t.Errorf("B served the new token after %v; want within 1s", d)
	}
	if n := fake.TokenCalls() - calls; n != 1 {
		t.Errorf("upstream fetches for the report = %d; want exactly 1 for the fleet", n)
	}
	if !fake.Valid(fresh) {
		t.Errorf("the fleet's new token is not valid at WeChat")
	}
}

// Two real processes sharing a token file, or a Redis: a stale report on A
// reaches B within a second, with one upstream fetch in all.
func TestFleetPropagatesRefresh(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "state", "access_token.json") }},
		{"redis", func(t *testing.T) string { return redistest.Start(t).URL() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			a, b := fleet(t, fake, tt.store(t), nil)
			tok := sameToken(t, fake, "", a, b)
			if n := fake.TokenCalls(); n != 1 {
				t.Errorf("upstream fetches for two instances = %d; want 1", n)
			}
			reportOnA(t, fake, a, b, tok)
		})
	}
}

// A Redis restart between the fetch and the report loses the stored token:
// the instances re-seed it, the report still costs one fetch, and B still
// follows A within a second.
func TestFleetPropagatesAfterRedisRestart(t *testing.T) {
	fake := wechattest.NewServer(t)
	srv := redistest.Start(t)
	a, b := fleet(t, fake, srv.URL(), nil)
	tok := sameToken(t, fake, "", a, b)
	srv.Restart()
	probe := srv.Client(t)
	waitFor(t, "the instances to re-seed Redis", func() bool {
		n, _ := probe.Exists(context.Background(), "{wxoa:"+fake.AppID()+"}:access_token").Result()
		return n == 1
	})
	sameToken(t, fake, tok, a, b)
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("upstream fetches after the restart = %d; want 1 (re-seeded, not fetched)", n)
	}
	reportOnA(t, fake, a, b, tok)
}

// A real three-master Redis Cluster: one fetch, and propagation, hold.
func TestFleetOnRedisCluster(t *testing.T) {
	fake := wechattest.NewServer(t)
	cluster := redistest.StartCluster(t, 3)
	a, b := fleet(t, fake, cluster.URL(), nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		p := []*proc{a, b}[i%2]
		wg.Go(func() {
			if _, err := p.token(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	tok := sameToken(t, fake, "", a, b)
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("upstream fetches on a Cluster = %d; want 1", n)
	}
	reportOnA(t, fake, a, b, tok)
}

// Sentinel: killing the master mid-run leaves callers with the valid token
// and costs no fetch; after the failover a refresh still propagates.
func TestFleetOnRedisSentinel(t *testing.T) {
	fake := wechattest.NewServer(t)
	sent := redistest.StartSentinel(t)
	a, b := fleet(t, fake, sent.URL(), nil)
	tok := sameToken(t, fake, "", a, b)
	// The replica must hold the token before its master dies.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := sent.Master().Client(t).Do(ctx, "WAIT", 1, 3000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica = %d, %v", n, err)
	}
	sent.KillMaster()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures []error
	var mu sync.Mutex
	for _, p := range []*proc{a, b} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v, err := p.token(); err != nil || v != tok {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	sent.WaitFailover(t)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d token requests failed or changed during the failover; first: %v", len(failures), failures[0])
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("upstream fetches across the failover = %d; want 1", n)
	}
	waitFor(t, "both instances healthy on the new master", func() bool { return a.health() == "ok" && b.health() == "ok" })
	reportOnA(t, fake, a, b, tok)
}
