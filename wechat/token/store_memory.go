package token

import (
	"context"
	"sync"
	"time"
)

// chanMutex is a mutex whose lock gives up when the context ends, so a
// caller stuck behind a slow refresh can still honour its deadline.
type chanMutex chan struct{}

func newChanMutex() chanMutex { return make(chanMutex, 1) }

func (c chanMutex) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c chanMutex) unlock() { <-c }

// once wraps an unlock function so that calling it twice is harmless.
func once(f func()) func() {
	var o sync.Once
	return func() { o.Do(f) }
}

// memoryStore keeps the token in the process: for a single instance, and
// for tests.
type memoryStore struct {
	lk chanMutex

	mu      sync.Mutex
	tok     Token
	fetches map[string]int64
}

var _ Store = (*memoryStore)(nil)

// NewMemoryStore returns a Store that lives in this process only. It suits a
// single instance; use a file or Redis store to share the token.
func NewMemoryStore() Store {
	return &memoryStore{lk: newChanMutex(), fetches: map[string]int64{}}
}

func (s *memoryStore) Load(context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Value == "" {
		return Token{}, ErrNoToken
	}
	return s.tok, nil
}

func (s *memoryStore) Save(_ context.Context, t Token, sup Supersede) (Token, error) {
	if err := checkSavable(t); err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sup.keeps(s.tok, t) {
		return s.tok, nil
	}
	s.tok = t
	return t, nil
}

func (s *memoryStore) Lock(ctx context.Context) (func(), error) {
	if err := s.lk.lock(ctx); err != nil {
		return nil, err
	}
	return once(s.lk.unlock), nil
}

func (s *memoryStore) CountFetch(_ context.Context, day string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches[day]++
	pruneDays(s.fetches, day)
	return s.fetches[day], nil
}

// pruneDays drops counters older than the day before day, so the map stays
// small while a clock skewed around midnight cannot wipe today's count.
func pruneDays(m map[string]int64, day string) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return
	}
	keep := d.AddDate(0, 0, -1).Format(time.DateOnly)
	for k := range m {
		if k < keep {
			delete(m, k)
		}
	}
}
