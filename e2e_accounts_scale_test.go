package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// A thousand accounts in one file, against one fake WeChat that knows
// them all, in a binary built without the race detector: the time to a
// healthy server and its memory after serving a few hundred accounts
// (tokens fetched, callbacks answered) are measured. Memory is held to
// issue 12's bound; time is logged, not asserted.
func TestThousandAccounts(t *testing.T) {
	const n, served = 1000, 300
	fake := wechattest.NewServer(t)
	var yaml strings.Builder
	yaml.WriteString("accounts:\n")
	for i := range n {
		app := fake.AddApp(fmt.Sprintf("wxscale%010d", i), fmt.Sprintf("secret%d", i))
		fmt.Fprintf(&yaml, "  - name: acct%04d\n    app_id: %s\n    app_secret: %s\n", i, app.AppID(), app.Secret())
		if i%2 == 0 { // half of them answer callbacks
			fmt.Fprintf(&yaml, "    token: cbtoken%d\n", i)
		}
	}
	vars := accountsVars(t, fake, yaml.String())
	bin := buildBinary(t)
	start := time.Now()
	p := startBinary(t, "wxoa", bin, vars)
	healthy := time.Since(start)
	startRSS := p.rss(t)

	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range served {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("acct%04d", i)
			v, err := accountToken(p.do, name)
			if err != nil || !fake.Valid(v) {
				t.Errorf("%s: %.12s, %v; want a valid token", name, v, err)
			}
			if i%2 != 0 {
				return
			}
			f, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: p.base + "/wechat/" + name, Token: fmt.Sprintf("cbtoken%d", i),
				OpenID: "oScaleUser", Account: "gh_scale", Client: p.client})
			if err != nil {
				t.Error(err)
				return
			}
			if res, err := f.Send(context.Background(), wechattest.Text("hello")); err != nil {
				t.Errorf("%s callback: %v", name, err)
			} else if r, ok := res.Reply.(*wechat.TextReply); !ok || r.Content != "hello" {
				t.Errorf("%s callback reply %#v; want the echo", name, res.Reply)
			}
		})
	}
	wg.Wait()
	rss := p.rss(t)
	t.Logf("%d accounts: healthy after %v at %d MB RSS; %d MB after serving %d of them", n, healthy.Round(time.Millisecond),
		startRSS>>20, rss>>20, served)
	if rss > 200<<20 {
		t.Errorf("RSS after serving %d of %d accounts = %d MB; want well under 200 MB", served, n, rss>>20)
	}
	if calls := fake.TokenCalls(); calls != served {
		t.Errorf("fetches = %d; want %d, one per account served (accounts fetch on first use)", calls, served)
	}
}
