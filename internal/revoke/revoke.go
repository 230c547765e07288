// Package revoke remembers ended admin sessions where the fleet shares
// state — the token store's Redis or directory — so that a sign-out holds
// after a restart and on every instance: a revoked session id until the
// session would have expired, and a generation that "sign out everywhere"
// moves on, ending every session issued before. What it holds is bounded:
// entries expire with their sessions, and a store that reaches its cap
// moves the generation on instead of forgetting a sign-out.
package revoke

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// Store is where sign-outs are kept (admin.Revocations). A generation is
// random, not counted: a store that lost its state (a new directory, a
// flushed Redis) starts a new one, and every earlier cookie is over rather
// than a revoked one coming back.
type Store interface {
	// Generation is the current generation, which new sessions carry;
	// sessions of another are over.
	Generation(ctx context.Context) (uint64, error)
	// Check returns the current generation and whether session id was
	// revoked, in one read.
	Check(ctx context.Context, id string) (generation uint64, revoked bool, err error)
	// Revoke ends session id, whose cookie expires at until.
	Revoke(ctx context.Context, id string, until time.Time) error
	// NewGeneration ends every session issued so far ("sign out
	// everywhere") and returns the generation sessions are issued under
	// from now on.
	NewGeneration(ctx context.Context) (uint64, error)
}

// MaxEntries bounds the revoked sessions a memory or file store keeps; the
// next sign-out moves the generation on instead (every session ends), so
// no sign-out is ever dropped. Sessions last 12 hours and each needs the
// key to create: legitimate use stays far below it.
const MaxEntries = 4096

// Memory keeps sign-outs in this process (TOKEN_STORE=memory, where
// nothing outlives the process): its generation starts random, so a
// restart ends every session, and a signed-out cookie never comes back.
type Memory struct {
	now func() time.Time
	max int // MaxEntries; smaller in tests

	mu      sync.Mutex
	gen     uint64
	revoked map[string]time.Time
}

// NewMemory returns a Memory; now is its clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: MaxEntries, gen: randomGeneration(), revoked: map[string]time.Time{}}
}

func (m *Memory) Revoke(_ context.Context, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	prune(m.revoked, now)
	if len(m.revoked) >= m.max {
		m.gen = newGeneration(m.gen)
		clear(m.revoked)
		return nil
	}
	m.revoked[id] = until
	return nil
}

func (m *Memory) Check(_ context.Context, id string) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.revoked[id]
	return m.gen, ok && m.now().Before(until), nil
}

func (m *Memory) Generation(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen, nil
}

func (m *Memory) NewGeneration(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen = newGeneration(m.gen)
	clear(m.revoked)
	return m.gen, nil
}

// prune drops the entries whose sessions have expired.
func prune(revoked map[string]time.Time, now time.Time) {
	for id, until := range revoked {
		if !now.Before(until) {
			delete(revoked, id)
		}
	}
}

// randomGeneration is a generation no cookie issued so far carries.
func randomGeneration() uint64 {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return binary.BigEndian.Uint64(b[:])
}

// newGeneration is a random generation other than old.
func newGeneration(old uint64) uint64 {
	for {
		if g := randomGeneration(); g != old {
			return g
		}
	}
}
