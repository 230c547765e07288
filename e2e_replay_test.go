package main

import (
	"fmt"
	"testing"
	"time"

	"wxoa/internal/redistest"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// capturedQuery is a plaintext push's signed query as someone who read it
// from a proxy log would replay it.
func capturedQuery(t *testing.T, account, nonce string) string {
	t.Helper()
	q, _, err := wechat.SealPush("e2etoken", nil, account, nil, fmt.Sprint(time.Now().Unix()), nonce)
	if err != nil {
		t.Fatal(err)
	}
	return "/wechat?" + q.Encode()
}

// In plaintext mode the signature covers only timestamp and nonce: a query
// carries the first message it brought and no other, on any instance
// sharing the Redis, on one instance without it, and while Redis is down.
func TestReplayedQueryCarriesOneMessage(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T, fake *wechattest.Server) (first, other *proc)
	}{
		{"one instance, in-process dedup", func(t *testing.T, fake *wechattest.Server) (*proc, *proc) {
			p := startProc(t, "A", e2eVars(t, fake))
			return p, p
		}},
		{"two instances on Redis", func(t *testing.T, fake *wechattest.Server) (*proc, *proc) {
			return fleet(t, fake, redistest.Start(t).URL(), nil)
		}},
		{"Redis down: the in-process fallback", func(t *testing.T, fake *wechattest.Server) (*proc, *proc) {
			srv := redistest.Start(t)
			vars := e2eVars(t, fake)
			vars["DEDUP_STORE"] = srv.URL()
			p := startProc(t, "A", vars)
			srv.Stop()
			return p, p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			first, other := tt.start(t, fake)
			target := capturedQuery(t, "gh_replay", "captured")
			msg := string(wechattest.Text("hello").XML("gh_replay", "oUser", 1700000000, 7001))
			code, want, err := first.do("POST", target, "", msg)
			if err != nil || code != 200 {
				t.Fatalf("first POST = %d %q, %v; want 200", code, want, err)
			}
			forged := []string{
				string(wechattest.Text("transfer everything").XML("gh_replay", "oUser", 1700000000, 7002)),
				string(wechattest.Text("hello").XML("gh_replay", "oVictim", 1700000001, 7003)),
				string(wechattest.Text("hello").XML("gh_replay", "oUser", 1700000000, 7004)),
			}
			for i, body := range forged {
				if code, got, err := other.do("POST", target, "", body); err != nil || code != 403 {
					t.Errorf("body %d on the captured query = %d %q, %v; want 403", i+2, code, got, err)
				}
			}
			// WeChat's own retry of the first message, same query and body,
			// gets the first answer.
			if code, got, err := other.do("POST", target, "", msg); err != nil || code != 200 || got != want {
				t.Errorf("retry of the first message = %d %q, %v; want 200 %q", code, got, err, want)
			}
			// Another signed query is another message.
			fresh := capturedQuery(t, "gh_replay", "fresh")
			if code, got, err := other.do("POST", fresh, "", forged[0]); err != nil || code != 200 {
				t.Errorf("a new message on a fresh query = %d %q, %v; want 200", code, got, err)
			}
		})
	}
}
