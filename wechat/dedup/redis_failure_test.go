package dedup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/logtest"
	"wxoa/internal/redistest"
)

// generous bounds a failing call in these tests: OpTimeout is 100 ms, and
// the assertion is only that a dead Redis cannot hold a message for the
// client's read timeout (one minute in TestRedisStalled) or WeChat's 5 s.
const generous = 3 * time.Second

func TestRedisDownFallsBackToMemory(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := client(t, srv.URL())
	r, err := NewRedis(RedisConfig{Client: c, Prefix: testPrefix(t), OpTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	s := WithFallback(r, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), slog.New(slog.NewTextHandler(&logs, nil)))
	if ok, _, err := s.Claim(ctx, "msg:up"); !ok || err != nil {
		t.Fatalf("Claim with Redis up = %v, %v; want true, nil", ok, err)
	}
	srv.Stop()

	start := time.Now()
	_, _, err = r.Claim(ctx, "msg:down")
	took := time.Since(start)
	t.Logf("Claim with Redis stopped: %v after %v", err, took)
	if err == nil || took > generous {
		t.Fatalf("Redis.Claim with Redis stopped = %v after %v; want an error within %v", err, took, generous)
	}
	if !strings.HasPrefix(err.Error(), "dedup redis: claim: ") || strings.Contains(err.Error(), "redis://") {
		t.Errorf("error %q; want it wrapped, without the URL", err)
	}

	// Down: served from memory, claim and Done paired there.
	if ok, _, err := s.Claim(ctx, "msg:1"); !ok || err != nil {
		t.Fatalf("Claim with Redis down = %v, %v; want claimed on the fallback", ok, err)
	}
	if ok, _, err := s.Claim(ctx, "msg:2"); !ok || err != nil {
		t.Fatalf("Claim with Redis down = %v, %v; want claimed on the fallback", ok, err)
	}
	if err := s.Done(ctx, "msg:1", []byte("one")); err != nil {
		t.Fatalf("Done with Redis down: %v", err)
	}
	if ok, got, err := s.Claim(ctx, "msg:1"); ok || err != nil || string(got) != "one" {
		t.Errorf("retry with Redis down = %v, %q, %v; want false, \"one\", nil", ok, got, err)
	}
	if ok, err := s.Once(ctx, "msg:1"); !ok || err != nil {
		t.Errorf("Once with Redis down = %v, %v; want true", ok, err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for 4 failed calls; want 1:\n%s", n, logs.String())
	}

	// Back: msg:2, claimed on the fallback, is done there; new claims go
	// to Redis again once the fallback retries it (within a second).
	srv.Restart()
	eventually(t, "the client to reconnect", func() bool { return c.Ping(ctx).Err() == nil })
	if err := s.Done(ctx, "msg:2", []byte("two")); err != nil {
		t.Fatalf("Done of a fallback claim: %v", err)
	}
	i := 0
	eventually(t, "claims to go to Redis again", func() bool {
		i++
		key := "msg:back:" + strconv.Itoa(i)
		if ok, _, err := s.Claim(ctx, key); !ok || err != nil {
			t.Fatalf("Claim(%q) with Redis back = %v, %v; want true, nil", key, ok, err)
		}
		defer s.Done(ctx, key, []byte("r"))
		v, err := c.Get(ctx, r.replyKey(key)).Bytes()
		return err == nil && bytes.Equal(v, []byte{tagPending})
	})
	if n, err := c.Exists(ctx, r.replyKey("msg:2")).Result(); err != nil || n != 0 {
		t.Errorf("Redis has msg:2 (%d, %v); want its Done kept on the fallback that claimed it", n, err)
	}
	if s.nHeld.Load() != 0 || len(s.held) != 0 {
		t.Errorf("fallback still tracks %d claims (%v); want none after Done", s.nHeld.Load(), s.held)
	}
}

// TestRedisStalled is a Redis that accepts connections and never answers,
// the failure that OpTimeout exists for.
func TestRedisStalled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	c := redis.NewClient(&redis.Options{Addr: l.Addr().String(), ContextTimeoutEnabled: true,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	r, err := NewRedis(RedisConfig{Client: c, OpTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = r.Claim(context.Background(), "msg:1")
	if took := time.Since(start); err == nil || errors.Is(err, ErrPending) || took > generous {
		t.Errorf("Claim against a stalled Redis = %v after %v; want a failure within %v", err, took, generous)
	}

	// A claim queued behind a stalled batch is bounded by its own
	// OpTimeout, not by the batch before it plus one of its own: with 2 s,
	// claim B starts 1.5 s into A's batch and fails 2 s later (3.5 s after
	// A), not 2.5 s later.
	const op = 2 * time.Second
	r2, err := NewRedis(RedisConfig{Client: c, OpTimeout: op})
	if err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { _, _, err := r2.Claim(context.Background(), "msg:A"); aDone <- err }()
	time.Sleep(1500 * time.Millisecond)
	start = time.Now()
	_, _, errB := r2.Claim(context.Background(), "msg:B")
	tookB := time.Since(start)
	if errA := <-aDone; errA == nil || errB == nil {
		t.Fatalf("claims against a stalled Redis = %v, %v; want both to fail", errA, errB)
	}
	if !errors.Is(errB, context.DeadlineExceeded) || tookB > op+400*time.Millisecond {
		t.Errorf("claim B queued behind a stalled batch: %v after %v; want a deadline within about %v", errB, tookB, op)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A claim whose caller stopped waiting (its deadline, a client gone) but
// that Redis applied afterwards leaves no marker behind: no one would
// finish it, and a retry of the message would wait on it and never run
// its rule.
func TestAbandonedClaimLeavesNoMarker(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := client(t, srv.URL())
	r, err := NewRedis(RedisConfig{Client: c, Prefix: testPrefix(t), OpTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := r.Claim(ctx, "msg:warm"); !ok || err != nil { // the script loaded, the pool dialled
		t.Fatalf("warm-up claim = %v, %v", ok, err)
	}
	admin := client(t, srv.URL())
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, err := r.Claim(short, "msg:1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claim during the pause = %v; want its deadline", err)
	}
	if err := r.Flush(ctx); err != nil { // the batch, and the drop it queued
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, r.replyKey("msg:1")).Result(); err != nil || n != 0 {
		t.Errorf("the abandoned claim's marker is in Redis (%d, %v); want it dropped", n, err)
	}
	retry, cancel2 := context.WithTimeout(ctx, 2*time.Second) // a marker left behind would hold it
	defer cancel2()
	if ok, _, err := r.Claim(retry, "msg:1"); !ok || err != nil {
		t.Errorf("a retry's claim = %v, %v; want it claimed", ok, err)
	}
}
