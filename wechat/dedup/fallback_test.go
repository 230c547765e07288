package dedup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
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
