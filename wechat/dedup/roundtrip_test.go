package dedup

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// countingHook counts the round trips a go-redis client makes: each
// command sent alone is one, each pipeline one however many commands it
// carries; pipelines are told apart by whether they carry a claim (a
// script) or a reply's write (SET). While holdWrites is set, a pipeline
// that writes waits, after saying so on held, until release.
type countingHook struct {
	cmds, claimPipes, writePipes atomic.Int64
	heldClaims                   atomic.Int64 // claims in the pipeline held by holdNext
	holdWrites, holdNext         atomic.Bool
	held, release                chan struct{}
}

func newCountingHook() *countingHook {
	return &countingHook{held: make(chan struct{}), release: make(chan struct{})}
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
		var claims, writes bool
		var n int64
		for _, c := range cmds {
			switch c.Name() {
			case "evalsha", "eval":
				claims = true
				n++
			case "set":
				writes = true
			}
		}
		if claims {
			h.claimPipes.Add(1)
		}
		if writes {
			h.writePipes.Add(1)
		}
		next1 := h.holdNext.CompareAndSwap(true, false)
		if next1 {
			h.heldClaims.Store(n)
		}
		if (writes && h.holdWrites.Load()) || next1 {
			h.held <- struct{}{}
			<-h.release
		}
		return next(ctx, cmds)
	}
}

func (h *countingHook) reset() { h.cmds.Store(0); h.claimPipes.Store(0); h.writePipes.Store(0) }

// fleetStore is a store as the service builds it, WithFallback over Redis,
// on a client of its own with a countingHook.
func fleetStore(t *testing.T, url, prefix string) (*Fallback, *Redis, *countingHook) {
	t.Helper()
	c := client(t, url)
	h := newCountingHook()
	c.AddHook(h)
	r, err := NewRedis(RedisConfig{Client: c, Prefix: prefix, OpTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return WithFallback(r, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), nil), r, h
}

func rtKey(i int) string        { return "msg:" + strconv.Itoa(i) }
func rtBind(i int) Binding      { return Bind("1700000000", strconv.Itoa(i), "sig", []byte(rtKey(i))) }
func rtReply(i int) []byte      { return []byte("reply " + rtKey(i)) }
func warmUp(s *Fallback, i int) { s.ClaimBound(context.Background(), rtKey(i), rtBind(i)); s.Close() }

// A new message costs one round trip that its reply waits for, the claim
// with its query's binding; Done returns while the reply's write is still
// held back. A retry on another instance costs one round trip too.
func TestNewMessageOneRoundTrip(t *testing.T) {
	const messages = 5
	ctx := context.Background()
	url, prefix := redistest.URL(t), testPrefix(t)
	a, _, ha := fleetStore(t, url, prefix)
	b, _, hb := fleetStore(t, url, prefix)
	warmUp(a, -1) // connections dialled, scripts loaded
	warmUp(b, -2)
	ha.reset()
	hb.reset()
	for i := range messages {
		if ok, _, err := a.ClaimBound(ctx, rtKey(i), rtBind(i)); !ok || err != nil {
			t.Fatalf("ClaimBound(%q) = %v, %v; want claimed", rtKey(i), ok, err)
		}
		ha.holdWrites.Store(true)
		if err := a.Done(ctx, rtKey(i), rtReply(i)); err != nil {
			t.Fatalf("Done(%q) = %v", rtKey(i), err)
		}
		<-ha.held // Done has returned; its write has not reached Redis yet
		ha.holdWrites.Store(false)
		ha.release <- struct{}{}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if c, w, n := ha.claimPipes.Load(), ha.writePipes.Load(), ha.cmds.Load(); c != messages || w != messages || n != 0 {
		t.Errorf("%d messages took %d claim round trips, %d write round trips, %d other commands; want one claim each, one write each behind the reply, nothing else",
			messages, c, w, n)
	}
	for i := range messages {
		if ok, got, err := b.ClaimBound(ctx, rtKey(i), rtBind(i)); ok || err != nil || string(got) != string(rtReply(i)) {
			t.Errorf("retry of %q on B = %v, %q, %v; want A's reply", rtKey(i), ok, got, err)
		}
	}
	if n := hb.claimPipes.Load() + hb.writePipes.Load() + hb.cmds.Load(); n != messages {
		t.Errorf("%d retries took %d round trips; want one each", messages, n)
	}
}

// Messages that arrive together share round trips: the claims queued while
// one batch is in flight go out together as the next.
func TestConcurrentMessagesShareRoundTrips(t *testing.T) {
	const messages = 20
	ctx := context.Background()
	a, r, h := fleetStore(t, redistest.URL(t), testPrefix(t))
	warmUp(a, -1)
	h.reset()
	h.holdNext.Store(true) // the first claim's batch waits for the others
	var wg sync.WaitGroup
	for i := range messages {
		wg.Go(func() {
			if ok, _, err := a.ClaimBound(ctx, rtKey(i), rtBind(i)); !ok || err != nil {
				t.Errorf("ClaimBound(%q) = %v, %v; want claimed", rtKey(i), ok, err)
				return
			}
			a.Done(ctx, rtKey(i), rtReply(i))
		})
	}
	<-h.held
	held := int(h.heldClaims.Load()) // the claims queued before the first batch left
	deadline := time.Now().Add(time.Second)
	for queued := 0; held+queued < messages && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		r.pipe.mu.Lock()
		queued = len(r.pipe.claims)
		r.pipe.mu.Unlock()
	}
	h.release <- struct{}{}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	want := int64(2)
	if held == messages {
		want = 1
	}
	if c, n := h.claimPipes.Load(), h.cmds.Load(); c != want || n != 0 {
		t.Errorf("%d concurrent claims took %d round trips (and %d commands alone); want %d: the held one with %d, then the rest together",
			messages, c, n, want, held)
	}
	// How the writes batch depends on when each caller gets to Done.
	t.Logf("%d concurrent replies written in %d round trips", messages, h.writePipes.Load())
	for i := range messages {
		if ok, got, err := a.Claim(ctx, rtKey(i)); ok || err != nil || string(got) != string(rtReply(i)) {
			t.Errorf("retry of %q = %v, %q, %v; want its reply", rtKey(i), ok, got, err)
		}
	}
}
