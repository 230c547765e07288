package dedup

import (
	"context"
	"fmt"
	"time"
)

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

// Done implements Store. On a primary that writes behind (Redis) it
// returns before the reply has reached primary: the reply need not wait for
// the write, and a write that fails is stored on fallback instead, as a
// failed synchronous one is.
func (s *Fallback) Done(ctx context.Context, key string, reply []byte) error {
	return s.finish(key, "done", func(st Store) error { return st.Done(ctx, key, reply) },
		func(w laterWriter, failed func(error)) { w.finishLater(key, reply, false, failed) })
}

// Abandon implements Store, writing behind as Done does.
func (s *Fallback) Abandon(ctx context.Context, key string) error {
	return s.finish(key, "abandon", func(st Store) error { return st.Abandon(ctx, key) },
		func(w laterWriter, failed func(error)) { w.finishLater(key, nil, true, failed) })
}

// laterWriter is a primary that can write behind (*Redis).
type laterWriter interface {
	finishLater(key string, reply []byte, abandon bool, failed func(error))
	Flush(ctx context.Context) error
}

// closeWait bounds Close: the queued writes go out in batches of at most
// OpTimeout each, and a Redis that is down fails each batch in one.
const closeWait = 5 * time.Second

// Close waits, up to 5 s, for the writes queued behind replies to land on
// primary (or, failing, on fallback): at shutdown, after the server has
// drained its requests, so the last replies reach the fleet.
func (s *Fallback) Close() error {
	w, ok := s.primary.(laterWriter)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		return fmt.Errorf("dedup: replies still queued for the shared store: %w", err)
	}
	return nil
}

// finish ends the claim of key with f: on fallback if it was claimed
// there, else on primary (behind, with later, when primary writes behind),
// or on fallback when primary fails.
func (s *Fallback) finish(key, op string, f func(Store) error, later func(laterWriter, func(error))) error {
	if s.release(key) {
		return f(s.onFallback())
	}
	if w, ok := s.primary.(laterWriter); ok && s.up() {
		later(w, func(err error) {
			s.fail(op, err)
			if err := f(s.onFallback()); err != nil {
				s.log.Warn("dedup: reply kept nowhere; a retry of this message waits, then gets success", "op", op, "err", err)
			}
		})
		return nil
	}
	if s.up() {
		err := f(s.primary)
		if err == nil {
			return nil
		}
		s.fail(op, err)
	}
	return f(s.onFallback())
}
