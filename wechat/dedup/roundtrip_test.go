package dedup

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// countingHook counts the round trips a go-redis client makes: each
// command sent alone is one, each pipeline one however many commands it
// carries. While hold is open, pipelines wait for it to close.
type countingHook struct {
	cmds, pipelines atomic.Int64
	hold            atomic.Pointer[chan struct{}]
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		if hold := h.hold.Load(); hold != nil {
			<-*hold
		}
		return next(ctx, cmds)
	}
}

func (h *countingHook) reset() { h.cmds.Store(0); h.pipelines.Store(0) }

// countedClient is a client of its own for url, with a countingHook.
func countedClient(t *testing.T, url string) (*redis.Client, *countingHook) {
	t.Helper()
	c := client(t, url)
	h := &countingHook{}
	c.AddHook(h)
	return c, h
}

// A new message costs one synchronous round trip, its claim with its
// query's binding: the reply's write does not hold the reply up (Done
// returns while every write is held), and the writes queued meanwhile go
// out together. A retry on another instance costs one round trip too.
func TestNewMessageOneRoundTrip(t *testing.T) {
	const messages = 20
	ctx := context.Background()
	url := redistest.URL(t)
	prefix := testPrefix(t)
	store := func(c *redis.Client) *Fallback {
		r, err := NewRedis(RedisConfig{Client: c, Prefix: prefix, OpTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return WithFallback(r, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), nil)
	}
	ca, ha := countedClient(t, url)
	cb, hb := countedClient(t, url)
	a, b := store(ca), store(cb)
	key := func(i int) string { return "msg:" + strconv.Itoa(i) }
	bind := func(i int) Binding { return Bind("1700000000", strconv.Itoa(i), "sig", []byte(key(i))) }

	// Warm up: connections dialled, scripts loaded.
	a.ClaimBound(ctx, "warm-up", bind(-1))
	a.Done(ctx, "warm-up", []byte("r"))
	b.Claim(ctx, "warm-up")
	a.Close()
	ha.reset()
	hb.reset()

	hold := make(chan struct{})
	ha.hold.Store(&hold)
	for i := range messages {
		if ok, _, err := a.ClaimBound(ctx, key(i), bind(i)); !ok || err != nil {
			t.Fatalf("ClaimBound(%q) = %v, %v; want claimed", key(i), ok, err)
		}
		if err := a.Done(ctx, key(i), []byte("reply "+key(i))); err != nil {
			t.Fatalf("Done(%q) = %v", key(i), err)
		}
	}
	if n := ha.cmds.Load(); n != messages {
		t.Errorf("%d messages answered with %d synchronous round trips; want one each", messages, n)
	}
	ha.hold.Store(nil)
	close(hold)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The first write went out alone and was held; the other 19 queued
	// behind it and went out as one pipeline.
	if n := ha.pipelines.Load(); n != 2 {
		t.Errorf("%d replies written in %d pipelines; want 2: the held one, then the rest together", messages, n)
	}
	for i := range messages {
		if ok, got, err := b.ClaimBound(ctx, key(i), bind(i)); ok || err != nil || string(got) != "reply "+key(i) {
			t.Errorf("retry of %q on B = %v, %q, %v; want A's reply", key(i), ok, got, err)
		}
	}
	if n := hb.cmds.Load() + hb.pipelines.Load(); n != messages {
		t.Errorf("%d retries took %d round trips; want one each", messages, n)
	}
}
