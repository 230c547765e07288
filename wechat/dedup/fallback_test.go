package dedup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// storeFake is a Store whose methods call the matching Fn, counting calls.
type storeFake struct {
	ClaimFn   func(ctx context.Context, key string) (bool, []byte, error)
	DoneFn    func(ctx context.Context, key string, reply []byte) error
	AbandonFn func(ctx context.Context, key string) error
	OnceFn    func(ctx context.Context, key string) (bool, error)
	calls     atomic.Int32
}

func (f *storeFake) Claim(ctx context.Context, key string) (bool, []byte, error) {
	f.calls.Add(1)
	return f.ClaimFn(ctx, key)
}
func (f *storeFake) Done(ctx context.Context, key string, reply []byte) error {
	f.calls.Add(1)
	return f.DoneFn(ctx, key, reply)
}
func (f *storeFake) Abandon(ctx context.Context, key string) error {
	f.calls.Add(1)
	return f.AbandonFn(ctx, key)
}
func (f *storeFake) Once(ctx context.Context, key string) (bool, error) {
	f.calls.Add(1)
	return f.OnceFn(ctx, key)
}

// failing is a primary whose every call returns err.
func failing(err error) *storeFake {
	return &storeFake{
		ClaimFn:   func(context.Context, string) (bool, []byte, error) { return false, nil, err },
		DoneFn:    func(context.Context, string, []byte) error { return err },
		AbandonFn: func(context.Context, string) error { return err },
		OnceFn:    func(context.Context, string) (bool, error) { return false, err },
	}
}

var errDown = errors.New("dedup redis: claim: dial tcp 127.0.0.1:1: connect: connection refused")

func TestFallbackClaimWhichStore(t *testing.T) {
	tests := []struct {
		name       string
		primaryErr error
		ctx        context.Context
		wantErr    error // nil: served by the fallback
	}{
		{"primary down", errDown, context.Background(), nil},
		{"pending is an answer", fmt.Errorf("dedup redis: claim: %w", ErrPending), context.Background(), ErrPending},
		{"no reply is an answer", ErrNoReply, context.Background(), ErrNoReply},
		{"caller gave up", errDown, cancelled(), errDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
			s := WithFallback(failing(tt.primaryErr), mem, nil)
			ok, _, err := s.Claim(tt.ctx, "msg:1")
			if tt.wantErr == nil {
				if !ok || err != nil {
					t.Errorf("Claim = %v, %v; want claimed on the fallback", ok, err)
				}
				if err := s.Done(context.Background(), "msg:1", []byte("r")); err != nil {
					t.Errorf("Done = %v", err)
				}
				if n := s.Served(); n != 2 {
					t.Errorf("Served = %d; want 2: the claim and its Done", n)
				}
				return
			}
			if n := s.Served(); n != 0 {
				t.Errorf("Served = %d; want 0: the primary answered", n)
			}
			if ok || !errors.Is(err, tt.wantErr) {
				t.Errorf("Claim = %v, %v; want false, %v from the primary", ok, err, tt.wantErr)
			}
			if again, _, _ := mem.Claim(context.Background(), "msg:1"); !again {
				t.Errorf("the fallback was claimed; want it untouched")
			}
		})
	}
}

func TestFallbackFinishesWhereClaimed(t *testing.T) {
	ctx := context.Background()
	for _, finish := range []string{"Done", "Abandon"} {
		t.Run(finish, func(t *testing.T) {
			var primaryUp atomic.Bool
			var primaryFinished atomic.Int32
			primary := &storeFake{
				ClaimFn: func(context.Context, string) (bool, []byte, error) {
					if primaryUp.Load() {
						return true, nil, nil
					}
					return false, nil, errDown
				},
				DoneFn:    func(context.Context, string, []byte) error { primaryFinished.Add(1); return nil },
				AbandonFn: func(context.Context, string) error { primaryFinished.Add(1); return nil },
			}
			mem := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
			s := WithFallback(primary, mem, nil)
			if ok, _, err := s.Claim(ctx, "msg:fb"); !ok || err != nil {
				t.Fatalf("Claim with primary down = %v, %v", ok, err)
			}
			primaryUp.Store(true)
			s.downUntil.Store(0) // the retry delay has passed
			if ok, _, err := s.Claim(ctx, "msg:p"); !ok || err != nil {
				t.Fatalf("Claim with primary up = %v, %v", ok, err)
			}
			for _, key := range []string{"msg:fb", "msg:p"} {
				var err error
				if finish == "Done" {
					err = s.Done(ctx, key, []byte("r"))
				} else {
					err = s.Abandon(ctx, key)
				}
				if err != nil {
					t.Fatalf("%s(%q): %v", finish, key, err)
				}
			}
			if n := primaryFinished.Load(); n != 1 {
				t.Errorf("primary finished %d keys; want 1, msg:p", n)
			}
			if ok, _, _ := mem.Claim(ctx, "msg:fb"); ok {
				t.Errorf("msg:fb is free on the fallback; want it finished there, where it was claimed")
			}
			if s.nHeld.Load() != 0 || len(s.held) != 0 {
				t.Errorf("still tracking %d claims (%v); want none", s.nHeld.Load(), s.held)
			}
		})
	}
}

func TestFallbackDoneFailureKeepsReplyLocally(t *testing.T) {
	ctx := context.Background()
	primary := failing(errDown)
	primary.ClaimFn = func(context.Context, string) (bool, []byte, error) { return true, nil, nil }
	mem := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
	s := WithFallback(primary, mem, nil)
	s.Claim(ctx, "msg:1")
	if err := s.Done(ctx, "msg:1", []byte("r")); err != nil {
		t.Fatalf("Done: %v; want the fallback to take it", err)
	}
	if ok, got, err := mem.Claim(ctx, "msg:1"); ok || err != nil || string(got) != "r" {
		t.Errorf("fallback Claim = %v, %q, %v; want the reply kept for local retries", ok, got, err)
	}
}

func TestFallbackWarnsOncePerInterval(t *testing.T) {
	ctx := context.Background()
	var logs strings.Builder
	primary := failing(errDown)
	s := WithFallback(primary, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 100 {
		s.downUntil.Store(0) // try the primary every time
		s.Once(ctx, fmt.Sprint("msg:", i))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for 100 failures; want 1:\n%s", n, logs.String())
	}
	if c := primary.calls.Load(); c != 100 {
		t.Errorf("primary called %d times; want 100", c)
	}
	// Right after a failure the primary is not tried.
	s.Once(ctx, "msg:next")
	if c := primary.calls.Load(); c != 100 {
		t.Errorf("primary called %d times after a failure; want it skipped for %v", c, retryPrimary)
	}
}

// switchable is a primary backed by a Memory (standing in for Redis) that
// fails every call while down is set, as a Redis that is down does.
func switchable(m *Memory, down *atomic.Bool) *storeFake {
	return &storeFake{
		ClaimFn: func(ctx context.Context, key string) (bool, []byte, error) {
			if down.Load() {
				return false, nil, errDown
			}
			return m.Claim(ctx, key)
		},
		DoneFn: func(ctx context.Context, key string, reply []byte) error {
			if down.Load() {
				return errDown
			}
			return m.Done(ctx, key, reply)
		},
		AbandonFn: func(ctx context.Context, key string) error {
			if down.Load() {
				return errDown
			}
			return m.Abandon(ctx, key)
		},
		OnceFn: func(ctx context.Context, key string) (bool, error) {
			if down.Load() {
				return false, errDown
			}
			return m.Once(ctx, key)
		},
	}
}

// A message answered on the fallback (claimed there while primary was down,
// or claimed on primary whose Done then failed) keeps its answer once
// primary is back: WeChat's retry gets it without running the rule again,
// and primary gets it too, for retries that reach other instances.
func TestFallbackRetryAfterRecoveryGetsFirstAnswer(t *testing.T) {
	tests := []struct {
		name                      string
		downAtClaim, downAtFinish bool
		abandon                   bool // the claimer finishes with Abandon (its rule panicked)
	}{
		{"claimed and done during the outage", true, true, false},
		{"claimed during the outage, done after", true, false, false},
		{"claimed on primary, its Done failed", false, true, false},
		{"claimed during the outage, abandoned", true, true, true},
		{"claimed on primary, its Abandon failed", false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var down atomic.Bool
			// MaxWait only keeps a broken Fallback from hanging the test on
			// a pending claim; nothing here is timed.
			shared := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, MaxWait: 100 * time.Millisecond})
			s := WithFallback(switchable(shared, &down), NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), nil)
			wantReply, wantErr := []byte("first"), error(nil)
			if tt.abandon {
				wantReply, wantErr = nil, ErrNoReply
			}

			down.Store(tt.downAtClaim)
			if ok, _, err := s.Claim(ctx, "msg:1"); !ok || err != nil {
				t.Fatalf("first Claim = %v, %v; want claimed", ok, err)
			}
			down.Store(tt.downAtFinish)
			s.downUntil.Store(0)
			var err error
			if tt.abandon {
				err = s.Abandon(ctx, "msg:1")
			} else {
				err = s.Done(ctx, "msg:1", []byte("first"))
			}
			if err != nil {
				t.Fatalf("finishing the first try: %v", err)
			}

			down.Store(false) // primary is back
			s.downUntil.Store(0)
			for try := 2; try <= 3; try++ {
				ok, got, err := s.Claim(ctx, "msg:1")
				if ok || !bytes.Equal(got, wantReply) || !errors.Is(err, wantErr) {
					t.Errorf("retry %d with primary back = %v, %q, %v; want false, %q, %v: the first answer, the rule not run again",
						try, ok, got, err, wantReply, wantErr)
				}
			}
			// Another instance, asking primary alone, gets it too.
			ok, got, err := shared.Claim(ctx, "msg:1")
			if ok || !bytes.Equal(got, wantReply) || !errors.Is(err, wantErr) {
				t.Errorf("primary Claim after the retry = %v, %q, %v; want false, %q, %v", ok, got, err, wantReply, wantErr)
			}
		})
	}
}

// A retry that reaches primary once it is back, while the first try,
// claimed on the fallback during the outage, is still running, waits for
// that first try instead of claiming primary and running the rule again.
func TestFallbackRetryWaitsForClaimHeldOnFallback(t *testing.T) {
	ctx := context.Background()
	var down atomic.Bool
	shared := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
	s := WithFallback(switchable(shared, &down), NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), nil)
	down.Store(true)
	if ok, _, err := s.Claim(ctx, "msg:1"); !ok || err != nil {
		t.Fatalf("first Claim = %v, %v; want claimed on the fallback", ok, err)
	}
	down.Store(false)
	s.downUntil.Store(0)

	type claim struct {
		ok    bool
		reply []byte
		err   error
	}
	retry := make(chan claim, 1)
	go func() {
		ok, reply, err := s.Claim(ctx, "msg:1")
		retry <- claim{ok, reply, err}
	}()
	// The retry either claims at once (the bug) or waits for this Done.
	var got claim
	select {
	case got = <-retry:
	case <-time.After(50 * time.Millisecond):
		if err := s.Done(ctx, "msg:1", []byte("first")); err != nil {
			t.Fatalf("Done: %v", err)
		}
		got = <-retry
	}
	if got.ok || got.err != nil || string(got.reply) != "first" {
		t.Errorf("retry = %v, %q, %v; want false, \"first\", nil: the first try's reply", got.ok, got.reply, got.err)
	}
	if got.ok {
		s.Done(ctx, "msg:1", []byte("second"))
	}
}
