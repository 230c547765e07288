package dedup

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// warnEvery spaces the fallback's warnings: during an outage every
	// message fails over, and one line per message would bury everything
	// else.
	warnEvery = 10 * time.Second
	// retryPrimary is how long calls skip primary after it failed. A Redis
	// that is down costs each call its whole OpTimeout (go-redis redials
	// until the deadline); one probe a second bounds that to one message a
	// second and keeps the redials from piling up.
	retryPrimary = time.Second
)

// WithFallback returns a Store that uses primary and, for each call where
// primary fails (any error but ErrPending and ErrNoReply, with ctx still
// live: Redis down or stalled), fallback instead, logging a warning at most
// once per 10 s. After a failure, calls go straight to fallback for a
// second; then primary is tried again, and used as soon as it answers.
//
// A key claimed on fallback is done or abandoned on fallback even if
// primary is back by then: the fallback's waiters are released, and
// primary never saw the claim. WithFallback tracks those keys until Done
// or Abandon, so the set is bounded by the requests in flight. A Done that
// fails on primary is stored on fallback too, for the retries that come
// back to this instance.
func WithFallback(primary, fallback Store, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fallback{primary: primary, fallback: fallback, log: log, held: map[string]int{}}
}

// Fallback is the Store WithFallback returns.
type Fallback struct {
	primary, fallback Store
	log               *slog.Logger

	mu    sync.Mutex
	held  map[string]int // keys claimed on fallback → claims not yet done
	nHeld atomic.Int64   // sum of held, so that Done skips the lock when zero

	downUntil  atomic.Int64 // Unix nanoseconds until which primary is skipped
	lastWarn   atomic.Int64 // Unix nanoseconds of the last warning
	suppressed atomic.Int64 // failures since then

	served atomic.Uint64 // operations fallback answered in primary's place
}

// Served returns how many operations the fallback has answered in
// primary's place: a fleet-wide claim this instance could not make, so a
// retry reaching another instance may be answered twice.
func (s *Fallback) Served() uint64 { return s.served.Load() }

// onFallback is the one door to the fallback store, so that Served counts
// every use.
func (s *Fallback) onFallback() Store {
	s.served.Add(1)
	return s.fallback
}

// up reports whether primary is worth trying.
func (s *Fallback) up() bool { return time.Now().UnixNano() >= s.downUntil.Load() }

// failed reports whether err is primary's own failure, which fallback can
// stand in for, rather than an answer or the caller giving up.
func failed(ctx context.Context, err error) bool {
	return err != nil && !errors.Is(err, ErrPending) && !errors.Is(err, ErrNoReply) && ctx.Err() == nil
}

func (s *Fallback) Claim(ctx context.Context, key string) (bool, []byte, error) {
	if s.up() {
		claimed, reply, err := s.primary.Claim(ctx, key)
		if !failed(ctx, err) {
			return claimed, reply, err
		}
		s.fail("claim", err)
	}
	claimed, reply, err := s.onFallback().Claim(ctx, key)
	if claimed {
		s.mu.Lock()
		s.held[key]++
		s.nHeld.Add(1)
		s.mu.Unlock()
	}
	return claimed, reply, err
}

// release forgets one fallback claim of key and reports whether there was
// one.
func (s *Fallback) release(key string) bool {
	if s.nHeld.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.held[key]
	if !ok {
		return false
	}
	if n <= 1 {
		delete(s.held, key)
	} else {
		s.held[key] = n - 1
	}
	s.nHeld.Add(-1)
	return true
}

func (s *Fallback) Done(ctx context.Context, key string, reply []byte) error {
	if s.release(key) {
		return s.onFallback().Done(ctx, key, reply)
	}
	if s.up() {
		err := s.primary.Done(ctx, key, reply)
		if err == nil {
			return nil
		}
		s.fail("done", err)
	}
	return s.onFallback().Done(ctx, key, reply)
}

func (s *Fallback) Abandon(ctx context.Context, key string) error {
	if s.release(key) {
		return s.onFallback().Abandon(ctx, key)
	}
	if s.up() {
		err := s.primary.Abandon(ctx, key)
		if err == nil {
			return nil
		}
		s.fail("abandon", err)
	}
	return s.onFallback().Abandon(ctx, key)
}

func (s *Fallback) Once(ctx context.Context, key string) (bool, error) {
	if s.up() {
		ok, err := s.primary.Once(ctx, key)
		if !failed(ctx, err) {
			return ok, err
		}
		s.fail("once", err)
	}
	return s.onFallback().Once(ctx, key)
}

// fail marks primary down for retryPrimary and warns, at most once per
// warnEvery.
func (s *Fallback) fail(op string, err error) {
	now := time.Now().UnixNano()
	s.downUntil.Store(now + int64(retryPrimary))
	last := s.lastWarn.Load()
	if now-last < int64(warnEvery) || !s.lastWarn.CompareAndSwap(last, now) {
		s.suppressed.Add(1)
		return
	}
	s.log.Warn("dedup: primary store failed; using the in-process fallback",
		"op", op, "err", err, "failures_since_last_warning", s.suppressed.Swap(0))
}
