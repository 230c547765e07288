package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxoa/reply"
	"wxoa/reply/replytest"
)

// bindingRouter is newTestRouter's router with a pipeline that binds
// plaintext queries, as the server builds it; in safe mode with safe set.
func bindingRouter(t *testing.T, rules *replytest.Matcher, safe bool) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return fixedNow }
	p, err := reply.New(reply.Config{Rules: rules, Now: now, Logger: log, BindQueries: true})
	if err != nil {
		t.Fatal(err)
	}
	acct := testAcct(func(a *Account) { a.Callback.Answerer = p })
	if safe {
		acct.Callback.Crypter = testCrypter(t)
	}
	h, err := NewRouter(Deps{Logger: log, Now: now, Accounts: accounts(t, acct)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A plaintext query that comes back with another body is refused with 403
// before any rule runs; encrypted posts are not bound (msg_signature
// covers their body), so the same timestamp and nonce carry any of them.
func TestCallbackRefusesReplayedQuery(t *testing.T) {
	tests := []struct {
		name       string
		safe       bool
		post       func(h http.Handler, body []byte) int
		wantOthers int
		wantRuns   int64
	}{
		{"plaintext", false, func(h http.Handler, body []byte) int { return postPlain(h, body).Code }, 403, 1},
		{"safe mode", true, func(h http.Handler, body []byte) int { return postSafe(t, h, body).Code }, 200, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := &replytest.Matcher{}
			h := bindingRouter(t, rules, tt.safe)
			if code := tt.post(h, textMsg(1, "hello")); code != 200 {
				t.Fatalf("first post = %d; want 200", code)
			}
			for _, body := range [][]byte{textMsg(2, "evil"), textMsg(3, "hello")} {
				if code := tt.post(h, body); code != tt.wantOthers {
					t.Errorf("another body on the same query = %d; want %d", code, tt.wantOthers)
				}
			}
			if code := tt.post(h, textMsg(1, "hello")); code != 200 {
				t.Errorf("retry of the first body = %d; want 200", code)
			}
			if n := rules.Calls(); n != tt.wantRuns {
				t.Errorf("rule ran %d times; want %d", n, tt.wantRuns)
			}
		})
	}
}

func TestReplayRefusalSaysWhy(t *testing.T) {
	h := bindingRouter(t, &replytest.Matcher{}, false)
	postPlain(h, textMsg(1, "hello"))
	rec := postPlain(h, textMsg(2, "evil"))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "already used for another message") {
		t.Errorf("replayed query = %d %q; want 403 saying the query was used", rec.Code, rec.Body.String())
	}
}
