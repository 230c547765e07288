package reply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"wxoa/reply/replytest"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
)

// plainQuery is the signed query of a plaintext push at fixedNow.
func plainQuery(nonce string) wechat.PushQuery {
	q, _, _ := wechat.SealPush("token", nil, testAccount, nil, "1700000000", nonce)
	return wechat.ParsePushQuery(q.Encode())
}

func answerPlain(t *testing.T, p *Pipeline, q wechat.PushQuery, body []byte) ([]byte, error) {
	t.Helper()
	msg, err := wechat.ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	return p.AnswerPlain(context.Background(), msg, q, body)
}

// With BindQueries a plaintext query carries its first message: another
// body on it is refused before any rule runs, the first body's retry gets
// the first reply. Without, AnswerPlain is Answer.
func TestAnswerPlainBindsQuery(t *testing.T) {
	tests := []struct {
		name      string
		bind      bool
		wantErr   error
		wantCalls int64
	}{
		{"bound", true, ErrReplayed, 1},
		{"not bound", false, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &replytest.Matcher{}
			p, err := New(Config{Rules: stub, BindQueries: tt.bind})
			if err != nil {
				t.Fatal(err)
			}
			q := plainQuery("captured")
			first := textMsg(1, "hello")
			want, err := answerPlain(t, p, q, first)
			if err != nil || !strings.Contains(string(want), "hello") {
				t.Fatalf("first AnswerPlain = %q, %v; want the echo", want, err)
			}
			for _, body := range [][]byte{textMsg(2, "evil"), textMsg(3, "hello")} {
				if got, err := answerPlain(t, p, q, body); !errors.Is(err, tt.wantErr) || (err != nil && got != nil) {
					t.Errorf("another body on the query = %q, %v; want %v", got, err, tt.wantErr)
				}
			}
			if got, err := answerPlain(t, p, q, first); err != nil || string(got) != string(want) {
				t.Errorf("retry of the first body = %q, %v; want %q", got, err, want)
			}
			if n := stub.Calls(); n != tt.wantCalls {
				t.Errorf("rule ran %d times; want %d", n, tt.wantCalls)
			}
		})
	}
}

// A store that cannot bind is refused at construction rather than letting
// BindQueries silently do nothing.
func TestBindQueriesNeedsBinder(t *testing.T) {
	plain := struct{ dedup.Store }{dedup.NewMemory(dedup.MemoryConfig{})}
	if _, err := New(Config{Rules: &replytest.Matcher{}, Store: plain, BindQueries: true}); err == nil {
		t.Errorf("New(BindQueries, a Store that is no Binder) = nil error; want one")
	}
	if _, err := New(Config{Rules: &replytest.Matcher{}, Store: plain}); err != nil {
		t.Errorf("New(a Store that is no Binder) = %v; want nil without BindQueries", err)
	}
}
