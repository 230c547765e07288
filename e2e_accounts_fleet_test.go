package main

import (
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/internal/redistest"
	"wxoa/wechat/wechattest"
)

// Two processes on one Redis with two accounts: one fetch per account for
// the fleet, and a refresh of one account reaches the other process
// within a second and costs the other account nothing.
func TestTwoAccountsFleetOnRedis(t *testing.T) {
	fake := wechattest.NewServer(t)
	mpApp := fake.AddApp(mpAppID, mpSecret)
	vars := accountsVars(t, fake, oaAndMP(fake))
	vars["TOKEN_STORE"] = redistest.Start(t).URL()
	a := startProc(t, "A", vars)
	vars = maps.Clone(vars) // A keeps its own, to start again from
	vars["LISTEN_ADDR"] = freeAddr(t)
	b := startProc(t, "B", vars)

	var wg sync.WaitGroup
	tokens := make([]string, 40)
	for i := range tokens {
		p, name := []*proc{a, b}[i%2], []string{"oa", "oa", "mp", "mp"}[i%4]
		wg.Go(func() {
			v, err := accountToken(p.do, name)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = v
		})
	}
	wg.Wait()
	if n, m := fake.DefaultApp().TokenCalls(), mpApp.TokenCalls(); n != 1 || m != 1 {
		t.Fatalf("fleet fetches for 20 cold requests per account: oa %d, mp %d; want one each", n, m)
	}
	oaTok, mpTok := tokens[0], tokens[2]
	for i, v := range tokens {
		if want := []string{oaTok, oaTok, mpTok, mpTok}[i%4]; v != want {
			t.Errorf("request %d served %.12s...; want %.12s...", i, v, want)
		}
	}

	// Another system fetched the OA's token: A hears about it from a
	// client, refreshes once, and B serves A's token within a second.
	fake.DefaultApp().FetchElsewhere()
	code, body, err := a.do("POST", "/api/token/refresh", "Bearer "+e2eAPIKey, `{"account":"oa","stale_token":"`+oaTok+`"}`)
	if err != nil || code != 200 {
		t.Fatalf("A POST /api/token/refresh for oa = %d %s, %v", code, body, err)
	}
	fresh := tokenFor(t, a.do, "oa")
	if fresh == oaTok {
		t.Fatal("A still serves the retired token")
	}
	d := waitFor(t, "B to serve oa's new token", func() bool {
		v, err := accountToken(b.do, "oa")
		return err == nil && v == fresh
	})
	t.Logf("B served oa's new token %v after A's refresh", d.Round(time.Millisecond))
	if d > time.Second {
		t.Errorf("B served the new token after %v; want within 1s", d)
	}
	if n := fake.DefaultApp().TokenCalls(); n != 2 {
		t.Errorf("oa fetches after the refresh = %d; want 2", n)
	}
	for _, p := range []*proc{a, b} {
		if v := tokenFor(t, p.do, "mp"); v != mpTok {
			t.Errorf("%s serves mp %.12s...; want its unchanged %.12s...", p.name, v, mpTok)
		}
	}
	if n := mpApp.TokenCalls(); n != 1 {
		t.Errorf("mp fetches after oa's refresh = %d; want still 1", n)
	}
}

// One account whose fetches fail with 45009 for a while: its callers get
// its remembered error at once, and the other account is served
// throughout.
func TestOneAccountFailingLeavesOthersAlone(t *testing.T) {
	fake := wechattest.NewServer(t)
	mpApp := fake.AddApp(mpAppID, mpSecret)
	mpApp.Fail(wechattest.FailQuota, 1000)
	s := startE2E(t, accountsVars(t, fake, oaAndMP(fake)), fake)
	oaTok := tokenFor(t, s.do, "oa")

	var served, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if i%2 == 0 {
				v, err := accountToken(s.do, "oa")
				if err != nil || v != oaTok {
					t.Errorf("oa while mp fails: %.12s, %v; want its token", v, err)
					return
				}
				served.Add(1)
				return
			}
			code, body, err := s.do("GET", "/api/token?account=mp", "Bearer "+e2eAPIKey, "")
			if err != nil || code != 502 {
				t.Errorf("mp while its quota is spent = %d %s, %v; want 502 with errcode 45009", code, body, err)
				return
			}
			refused.Add(1)
		})
	}
	wg.Wait()
	if served.Load() != 100 || refused.Load() != 100 {
		t.Errorf("served %d oa, refused %d mp; want 100 each", served.Load(), refused.Load())
	}
	// The failure is remembered: 100 callers cost WeChat one attempt.
	if n := mpApp.TokenCalls(); n != 1 {
		t.Errorf("mp fetch attempts for 100 callers = %d; want 1 (the failure is remembered)", n)
	}
	if n := fake.DefaultApp().TokenCalls(); n != 1 {
		t.Errorf("oa fetches = %d; want 1", n)
	}
}
