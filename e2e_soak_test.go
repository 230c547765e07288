package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wxoa/internal/redistest"
	"wxoa/internal/soak"
	"wxoa/wechat/wechattest"
)

// TestSoak runs two instances sharing a Redis for -soak (opt-in: `go test
// -run Soak -soak=60s ./...`) under callbacks, token reads and passive
// refreshes at once, while WeChat rotates the token every few seconds
// (another system fetches one), fails some calls, and Redis restarts once.
// No client may get an error while a valid token exists, goroutines must not
// grow, and memory must stay flat after the warm-up.
func TestSoak(t *testing.T) {
	d := soak.Duration()
	if d == 0 {
		t.Skip("opt-in: go test -run Soak -soak=60s ./...")
	}
	fake := wechattest.NewServer(t)
	rdb := redistest.Start(t)
	a, b := fleet(t, fake, rdb.URL(), map[string]string{"LOG_LEVEL": "warn"})
	ps := []*proc{a, b}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	var calls, failures [3]atomic.Int64 // callbacks, token reads, reports
	var mu sync.Mutex
	var firstErrs []string
	fail := func(kind int, format string, args ...any) {
		failures[kind].Add(1)
		mu.Lock()
		if len(firstErrs) < 10 {
			firstErrs = append(firstErrs, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 4 { // WeChat pushing to both instances
		p := ps[w%2]
		f, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: p.base + "/wechat", Token: "e2etoken",
			OpenID: fmt.Sprintf("oSoak%d", w), Account: "gh_soak", Client: p.client})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				calls[0].Add(1)
				if res, err := f.Send(ctx, wechattest.Text("echo soak")); err != nil && ctx.Err() == nil {
					fail(0, "%s callback: %v", p.name, err)
				} else if err == nil && res.Reply == nil {
					fail(0, "%s callback: no reply", p.name)
				}
			}
		})
	}
	var current atomic.Value // the last token a service got
	current.Store("")
	for w := range 4 { // services reading the token
		p := ps[w%2]
		wg.Go(func() {
			for ctx.Err() == nil {
				calls[1].Add(1)
				tok, err := p.token()
				if err != nil && ctx.Err() == nil {
					fail(1, "%s /api/token: %v", p.name, err)
					continue
				}
				current.Store(tok)
			}
		})
	}
	wg.Go(func() { // WeChat's side: rotations, failures, a Redis restart
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for i := 1; ctx.Err() == nil; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			stale := current.Load().(string)
			fake.FetchElsewhere() // the token in service stops working at once
			if i%3 == 0 {
				fake.Fail(wechattest.FailBusy, 2) // the fetch retries through it
			}
			if i == 5 {
				rdb.Restart()
			}
			// A service sees 40001 and reports the token it used.
			for _, p := range ps {
				calls[2].Add(1)
				code, body, err := p.do("POST", "/api/token/refresh", "Bearer "+e2eAPIKey, `{"stale_token":"`+stale+`"}`)
				if (err != nil || code != 200) && ctx.Err() == nil {
					fail(2, "%s report: %d %s %v", p.name, code, body, err)
				}
			}
		}
	})

	// Warm up, then take the baseline.
	time.Sleep(min(d/6, 10*time.Second))
	base := make([]procStats, 2)
	for i, p := range ps {
		base[i] = stats(t, p)
	}
	wg.Wait()
	time.Sleep(time.Second) // let in-flight work settle before the last reading
	for i, p := range ps {
		end := stats(t, p)
		t.Logf("%s: goroutines %d → %d, heap in use %d → %d MiB, RSS %d → %d MiB",
			p.name, base[i].goroutines, end.goroutines, base[i].heap>>20, end.heap>>20, base[i].rss>>20, end.rss>>20)
		if end.goroutines > base[i].goroutines+25 {
			t.Errorf("%s goroutines grew from %d to %d", p.name, base[i].goroutines, end.goroutines)
		}
		if end.rss > base[i].rss+base[i].rss/2+32<<20 {
			t.Errorf("%s RSS grew from %d to %d MiB", p.name, base[i].rss>>20, end.rss>>20)
		}
	}
	t.Logf("%v: %d callbacks, %d token reads, %d reports; errors %d, %d, %d; WeChat token calls %d",
		d, calls[0].Load(), calls[1].Load(), calls[2].Load(), failures[0].Load(), failures[1].Load(), failures[2].Load(), fake.TokenCalls())
	if n := failures[0].Load() + failures[1].Load() + failures[2].Load(); n > 0 {
		t.Errorf("%d client requests failed while a valid token existed; first: %s", n, strings.Join(firstErrs, "\n"))
	}
}

type procStats struct {
	goroutines, heap, rss int64
}

// stats reads a process's goroutines and heap from its /metrics (the Go
// collector) and its RSS from /proc.
func stats(t *testing.T, p *proc) procStats {
	t.Helper()
	code, body, err := p.do("GET", "/metrics", "", "")
	if err != nil || code != 200 {
		t.Fatalf("%s /metrics = %d, %v", p.name, code, err)
	}
	tp := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := tp.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	gauge := func(name string) int64 {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			t.Fatalf("%s /metrics has no %s", p.name, name)
		}
		return int64(f.GetMetric()[0].GetGauge().GetValue())
	}
	return procStats{goroutines: gauge("go_goroutines"), heap: gauge("go_memstats_heap_inuse_bytes"), rss: p.rss(t)}
}
