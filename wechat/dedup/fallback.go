package dedup

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
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
// primary is back by then: the fallback's waiters are released there.
// Primary may not have seen the claim, or may hold a pending marker for it
// (a SET NX that timed out after Redis applied it). WithFallback tracks
// those keys until Done or Abandon, so the set is bounded by the requests
// in flight. A Done or Abandon that fails on primary is stored on fallback
// instead.
//
// Claim asks fallback first, without claiming: a key answered there is
// answered from there, and its answer copied to primary, so that a retry
// after primary is back neither runs the rule again (primary has no claim)
// nor waits for a pending marker no one will replace; a key still claimed
// there is waited for there.
func WithFallback(primary Store, fallback *Memory, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fallback{primary: primary, fallback: fallback, log: log, held: map[string]int{},
		warn: rate.Sometimes{Interval: warnEvery}}
}

// Fallback is the Store WithFallback returns.
type Fallback struct {
	primary  Store
	fallback *Memory
	log      *slog.Logger

	mu    sync.Mutex
	held  map[string]int // keys claimed on fallback → claims not yet done
	nHeld atomic.Int64   // sum of held, so that Done skips the lock when zero

	downUntil  atomic.Int64   // Unix nanoseconds until which primary is skipped
	warn       rate.Sometimes // paces the warnings
	suppressed atomic.Int64   // failures not warned about since the last warning

	served atomic.Uint64 // operations fallback answered in primary's place
	// usedUntil is when what the last use of fallback stored there has
	// expired (Unix nanoseconds): until then Claim must look there first;
	// after it, as for a fleet that never saw an outage, there is nothing
	// to find and the lookup is skipped.
	usedUntil atomic.Int64
}

// Served returns how many operations the fallback has answered in
// primary's place: a fleet-wide claim this instance could not make, so a
// retry reaching another instance may be answered twice.
func (s *Fallback) Served() uint64 { return s.served.Load() }

// onFallback is the one door to the fallback store, so that Served counts
// every use.
func (s *Fallback) onFallback() *Memory {
	s.served.Add(1)
	s.usedUntil.Store(time.Now().Add(s.fallback.keep()).UnixNano())
	return s.fallback
}

// up reports whether primary is worth trying.
func (s *Fallback) up() bool { return time.Now().UnixNano() >= s.downUntil.Load() }

// failed reports whether err is primary's own failure, which fallback can
// stand in for, rather than an answer or the caller giving up.
func failed(ctx context.Context, err error) bool {
	return err != nil && !errors.Is(err, ErrPending) && !errors.Is(err, ErrNoReply) && !errors.Is(err, ErrReplayed) &&
		ctx.Err() == nil
}

func (s *Fallback) Claim(ctx context.Context, key string) (bool, []byte, error) {
	return s.claim(ctx, key, nil)
}

// ClaimBound implements Binder: fleet-wide on primary when it is a Binder
// (Redis), else, and while it is down, in this process. The fallback keeps
// a copy of every binding primary accepted, so that a query bound before
// an outage stays bound during it, and one bound during an outage stays
// bound after it.
func (s *Fallback) ClaimBound(ctx context.Context, key string, b Binding) (bool, []byte, error) {
	if s.fallback.boundElsewhere(b) {
		return false, nil, ErrReplayed
	}
	return s.claim(ctx, key, &b)
}

func (s *Fallback) claim(ctx context.Context, key string, b *Binding) (bool, []byte, error) {
	// Fallback holds keys only from primary's failures, so this is almost
	// always a miss, and skipped when no failure is recent enough to have
	// left anything.
	var reply []byte
	var found bool
	var err error
	if u := s.usedUntil.Load(); u != 0 && time.Now().UnixNano() < u {
		reply, found, err = s.fallback.Peek(key)
	}
	switch {
	case found && errors.Is(err, ErrPending):
		// Claimed here while primary was down and still running: claiming
		// primary now would run the rule a second time.
		return s.claimFallback(ctx, key, b)
	case found:
		if b != nil {
			if err := s.fallback.bind(*b); err != nil {
				return false, nil, err
			}
		}
		s.served.Add(1)
		s.share(ctx, key, reply, err)
		return false, reply, err
	}
	if s.up() {
		claimed, reply, err := s.claimPrimary(ctx, key, b)
		if !failed(ctx, err) {
			if b != nil && err == nil {
				s.fallback.bind(*b) // primary agreed: the copy cannot be refused
			}
			return claimed, reply, err
		}
		s.fail("claim", err)
	}
	return s.claimFallback(ctx, key, b)
}

// claimPrimary claims key on primary, bound when b is set and primary can
// bind; a primary that cannot leaves the binding to this process.
func (s *Fallback) claimPrimary(ctx context.Context, key string, b *Binding) (bool, []byte, error) {
	if b != nil {
		if p, ok := s.primary.(Binder); ok {
			return p.ClaimBound(ctx, key, *b)
		}
		if err := s.fallback.bind(*b); err != nil {
			return false, nil, err
		}
	}
	return s.primary.Claim(ctx, key)
}

// claimFallback claims key on fallback, tracking the claim so that Done
// and Abandon finish it there.
func (s *Fallback) claimFallback(ctx context.Context, key string, b *Binding) (bool, []byte, error) {
	var claimed bool
	var reply []byte
	var err error
	if b != nil {
		claimed, reply, err = s.onFallback().ClaimBound(ctx, key, *b)
	} else {
		claimed, reply, err = s.onFallback().Claim(ctx, key)
	}
	if claimed {
		s.mu.Lock()
		s.held[key]++
		s.nHeld.Add(1)
		s.mu.Unlock()
	}
	return claimed, reply, err
}

// share copies an answer fallback holds (a reply, or ErrNoReply) to
// primary, for the retries that reach other instances. It writes over
// whatever primary holds: nothing (the claim was made here while primary
// was down), a pending marker that a failed Done left, or, rarely, the
// reply another instance computed for a retry that reached it after
// primary was back; the first answer, this one, wins.
func (s *Fallback) share(ctx context.Context, key string, reply []byte, answer error) {
	if !s.up() {
		return
	}
	// The copy is for later retries, not for this request.
	ctx = context.WithoutCancel(ctx)
	var err error
	if answer == nil {
		err = s.primary.Done(ctx, key, reply)
	} else {
		err = s.primary.Abandon(ctx, key)
	}
	if err != nil {
		s.fail("share", err)
	}
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
// warnEvery, with the count of failures since the last warning.
func (s *Fallback) fail(op string, err error) {
	s.downUntil.Store(time.Now().UnixNano() + int64(retryPrimary))
	warned := false
	s.warn.Do(func() {
		warned = true
		s.log.Warn("dedup: primary store failed; using the in-process fallback",
			"op", op, "err", err, "failures_since_last_warning", s.suppressed.Swap(0))
	})
	if !warned {
		s.suppressed.Add(1)
	}
}
