package token

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// mustRedis returns a client for a real Redis: REDIS_URL if set, else a
// redis-server started on a free 127.0.0.1 port and killed on cleanup.
// Without either, the test is skipped locally and fails in CI.
func mustRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	return redisClient(t, RedisURLForTest(t))
}

// redisClient connects to url, waits for it to answer, and closes on cleanup.
func redisClient(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return c
		}
		if ctx.Err() != nil {
			t.Fatalf("redis at %s not answering: %v", opts.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RedisURLForTest is REDIS_URL, or the URL of a redis-server started for
// the test; exported to the external token_test package.
func RedisURLForTest(t testing.TB) string {
	t.Helper()
	if url := os.Getenv("REDIS_URL"); url != "" {
		return url
	}
	return startRedis(t)
}

func startRedis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not on PATH and REDIS_URL not set; CI must provide one")
		}
		t.Skip("redis-server not on PATH and REDIS_URL not set")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// redisKey is a key no other test or earlier run (with a shared REDIS_URL)
// has used.
func redisKey(t testing.TB) string {
	return "wxoatest:" + rand.Text()[:8] + ":" + t.Name()
}
