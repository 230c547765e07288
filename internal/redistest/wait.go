package redistest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// poll calls try until it returns nil, failing tb with try's last error
// once timeout has passed. Each try gets its own short deadline so that one
// stuck call cannot eat the whole budget.
func poll(tb testing.TB, timeout time.Duration, what string, try func(ctx context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := try(attempt)
		cancelAttempt()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("waited %v for %s: %v", timeout, what, err)
		case <-tick.C:
		}
	}
}

// adminClient is a client for the helpers' own checks: one attempt per
// command and per dial and short timeouts, so that poll, not go-redis,
// decides when to try again; RESP2 and no CLIENT SETINFO, which a sentinel
// would not know.
func adminClient(addr string) *redis.Client { return redis.NewClient(adminOptions(addr)) }

func adminOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		DialTimeout:     time.Second,
		ReadTimeout:     time.Second,
		WriteTimeout:    time.Second,
		PoolSize:        1,
	}
}

// infoField returns the value of key in an INFO reply, "" when absent.
func infoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

// writeFile writes a config file into dir, failing tb on error.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
