package redisurl_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"wxoa/internal/logtest"
	"wxoa/internal/redistest"
	"wxoa/wechat/redisurl"
)

// TestSetLoggerPacesARefusedRedis: every command on a Redis that refuses
// connections makes go-redis log a failed dial; forty of them in a burst
// log three lines, not forty.
func TestSetLoggerPacesARefusedRedis(t *testing.T) {
	var buf logtest.Buffer
	redisurl.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	// go-redis's logger is process-wide: leave a quiet one behind.
	t.Cleanup(func() { redisurl.SetLogger(slog.New(slog.DiscardHandler)) })
	closed := redistest.FreePort(t) // nothing listens: each dial is refused
	c := redisurl.MustParse(fmt.Sprintf("redis://127.0.0.1:%d/0", closed)).NewClient()
	defer c.Close()
	const pings = 40
	for range pings {
		if err := c.Ping(context.Background()).Err(); err == nil {
			t.Fatalf("PING 127.0.0.1:%d answered; want a refused connection", closed)
		}
	}
	lines := strings.Count(buf.String(), "failed to dial")
	if lines != 3 {
		t.Errorf("%d PINGs to a refused Redis logged %d failed dials; want the first 3:\n%s", pings, lines, buf.String())
	}
}
