package reply

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"wxoa/reply/replytest"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/wechattest"
)

const (
	testAccount = "gh_123456789abc" // the account's original id
	testOpenID  = "oUser0001"       // the user who writes
)

// fixedNow is the clock of every pipeline under test.
var fixedNow = time.Unix(1700000000, 0)

type pipelineOpts struct {
	rules     Matcher
	forwarder Forwarder
	store     dedup.Store // nil: the default, in memory
	logs      io.Writer
}

func newTestPipeline(tb testing.TB, o pipelineOpts) *Pipeline {
	tb.Helper()
	if o.rules == nil {
		o.rules = &replytest.Matcher{}
	}
	if o.logs == nil {
		o.logs = io.Discard
	}
	p, err := New(Config{Rules: o.rules, Forwarder: o.forwarder, Store: o.store, Now: func() time.Time { return fixedNow },
		Logger: slog.New(slog.NewTextHandler(o.logs, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// answer parses body, as the callback does, and answers it. Safe to call
// from several goroutines.
func answer(tb testing.TB, p *Pipeline, body []byte) string {
	msg, err := wechat.ParseMessage(body)
	if err != nil {
		tb.Errorf("ParseMessage(%q) = %v", body, err)
		return ""
	}
	return string(p.Answer(context.Background(), msg))
}

// textMsg is a text message from testOpenID at fixedNow.
func textMsg(msgID int64, content string) []byte {
	return wechattest.Text(content).XML(testAccount, testOpenID, fixedNow.Unix(), msgID)
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("rule exploded")
