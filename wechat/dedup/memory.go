package dedup

import (
	"context"
	"fmt"
	"time"

	"github.com/coocood/freecache"
)

const (
	// DefaultMemoryBytes is the default budget. A message costs its key
	// twice, its reply and about 50 bytes (the claim's entry stays in the
	// ring until overwritten): at 100 messages a second with 300-byte
	// replies, DefaultTTL's ten minutes take about 25 MiB. The budget is
	// live heap, so the GC lets the heap grow by as much again before it
	// runs: a bigger default would cost every small deployment RSS. A
	// busier one sets more, or keeps a shorter window (WeChat's own retries
	// are over in 15 s).
	DefaultMemoryBytes = 32 << 20
	// MinMemoryBytes is the smallest budget: freecache's own floor is
	// 512 KiB, and below 1 MiB a reply splits into too many parts.
	MinMemoryBytes = 1 << 20
	// DefaultMemoryPoll is how often a retry looks for the first try's
	// reply. Waiting happens only when a retry arrives while the first try
	// is still running, so the cost is a few lookups per slow message.
	DefaultMemoryPoll = 5 * time.Millisecond
)

// MemoryConfig configures NewMemory.
type MemoryConfig struct {
	// Bytes is the budget for keys and replies: zero means
	// DefaultMemoryBytes, less than MinMemoryBytes means MinMemoryBytes.
	// The store allocates it at once (the pages are touched as they fill):
	// an eighth for the bindings of plaintext queries (36 bytes each, four
	// to a bucket), the rest as 256 ring buffers for claims, replies and
	// Once keys, each taking entries up to a quarter of its size, about
	// Bytes/1170; a larger reply is stored in parts. When a ring is
	// full its oldest entries are evicted before their TTL: under a flood
	// a message may be forgotten early and a retry of it would run its rule
	// again. freecache's index comes on top: 16 bytes per entry in tables
	// that grow by doubling and never shrink. It is small for real replies,
	// but a flood of distinct messages answered "success" fills the budget
	// with 40-byte entries (measured heap: 32 MiB budget → 51 MiB, 16 →
	// 32, 1 → 5).
	Bytes int
	// TTL is how long a claim, reply or Once key is kept (zero:
	// DefaultTTL). It should be at least twice the callback's clock-skew
	// window; it is rounded up to whole seconds, plus one for the clock's
	// second resolution.
	TTL time.Duration
	// PollEvery is how often a waiting Claim looks again (zero:
	// DefaultMemoryPoll).
	PollEvery time.Duration
	// MaxWait bounds how long a Claim waits for another caller's reply,
	// besides its ctx (zero: only ctx). Callers set their reply deadline
	// here rather than paying for a context with a timer on every message,
	// of which almost none wait.
	MaxWait time.Duration
	// MaxReply is the largest reply kept (zero: DefaultMaxReply); a larger
	// one is remembered as done without bytes. It is capped at Bytes/8 so
	// that one reply cannot flush the store.
	MaxReply int
	// Now is the clock (nil: time.Now); the store reads whole seconds.
	Now func() time.Time
}

// Memory is a Store kept in this process by freecache: keys and replies
// live in byte ring buffers indexed by integers, so the garbage collector
// has no pointers to trace however many messages are remembered, and the
// budget holds under a flood of distinct messages. It needs no background
// goroutine: expired entries are dropped when read or overwritten.
type Memory struct {
	c        *freecache.Cache
	binds    *bindTable
	now      func() uint32 // the clock's seconds, as freecache reads them
	bytes    int
	ttl      int // seconds, as freecache takes it
	poll     time.Duration
	maxWait  time.Duration
	maxReply int
	maxKV    int // the largest key plus value freecache accepts
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Bytes == 0 {
		cfg.Bytes = DefaultMemoryBytes
	}
	cfg.Bytes = max(cfg.Bytes, MinMemoryBytes)
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = DefaultMemoryPoll
	}
	if cfg.MaxReply <= 0 {
		cfg.MaxReply = DefaultMaxReply
	}
	// Bindings take an eighth: 36 bytes each against the ~500 a message's
	// claim and reply take in the ring.
	bindBytes := cfg.Bytes / 8
	ringBytes := cfg.Bytes - bindBytes
	m := &Memory{
		binds:    newBindTable(bindBytes),
		bytes:    cfg.Bytes,
		ttl:      int((cfg.TTL+time.Second-1)/time.Second) + 1,
		poll:     cfg.PollEvery,
		maxWait:  cfg.MaxWait,
		maxReply: min(cfg.MaxReply, cfg.Bytes/8),
		// freecache's own limit (segment.set): a quarter of one of its
		// 256 segments, less the entry header.
		maxKV: ringBytes/256/4 - freecache.ENTRY_HDR_SIZE,
	}
	if cfg.Now != nil {
		m.now = clock(cfg.Now).Now
		m.c = freecache.NewCacheCustomTimer(ringBytes, clock(cfg.Now))
	} else {
		m.now = func() uint32 { return uint32(time.Now().Unix()) }
		m.c = freecache.NewCache(ringBytes)
	}
	return m
}

// clock adapts a func() time.Time to freecache's seconds timer.
type clock func() time.Time

func (c clock) Now() uint32 { return uint32(c().Unix()) }

// Claim implements Store. A waiting Claim polls every PollEvery; a claim
// that vanished meanwhile (evicted under a full budget) is taken over.
func (m *Memory) Claim(ctx context.Context, key string) (bool, []byte, error) {
	var kb keyBuf
	k := kb.build(kindHead, key, 0)
	pending := [1]byte{tagPending}
	w := waiter{poll: m.poll, maxWait: m.maxWait}
	defer w.stop()
	for {
		v, err := m.c.GetOrSet(k, pending[:], m.ttl)
		if err != nil {
			return false, nil, fmt.Errorf("dedup memory: claim: %w", err)
		}
		if v == nil {
			return true, nil, nil
		}
		for found := true; found; found = m.view(k, &v) {
			reply, isPending, err := m.read(key, v)
			if !isPending {
				return false, reply, err
			}
			if err := w.wait(ctx); err != nil {
				return false, nil, err
			}
		}
	}
}

// ClaimBound implements Binder. Under a full budget a binding can be
// evicted before its TTL, like a reply: the query then binds anew.
func (m *Memory) ClaimBound(ctx context.Context, key string, b Binding) (bool, []byte, error) {
	if err := m.bind(b); err != nil {
		return false, nil, err
	}
	return m.Claim(ctx, key)
}

// bind binds b's query to its body unless it is bound already, and returns
// ErrReplayed if that is to another body.
func (m *Memory) bind(b Binding) error {
	if !m.binds.bind(b, m.now(), uint32(m.ttl)) {
		return ErrReplayed
	}
	return nil
}

// boundElsewhere reports whether b's query is bound here to another body,
// without binding it.
func (m *Memory) boundElsewhere(b Binding) bool {
	return m.binds.boundElsewhere(b, m.now())
}

// keep is how long an entry stored now is kept.
func (m *Memory) keep() time.Duration { return time.Duration(m.ttl) * time.Second }

// Peek reports what key holds without claiming it or waiting: found is
// false when nothing is held; otherwise err is nil and reply the stored
// reply, ErrNoReply when it is done without one, or ErrPending when its
// claimer has not finished. WithFallback asks it first, so that a message
// answered here while the shared store was down keeps its answer.
func (m *Memory) Peek(key string) (reply []byte, found bool, err error) {
	var kb keyBuf
	v, err := m.c.Get(kb.build(kindHead, key, 0))
	if err != nil || len(v) == 0 {
		return nil, false, nil // freecache fails Get only for a missing key
	}
	reply, pending, err := m.read(key, v)
	if pending {
		return nil, true, ErrPending
	}
	return reply, true, err
}

// read interprets the head value v of key as decode does, reading the
// parts of a reply stored in parts.
func (m *Memory) read(key string, v []byte) (reply []byte, pending bool, err error) {
	if len(v) > 0 && v[0] == tagChunked {
		reply, err := m.assemble(key, v)
		return reply, false, err
	}
	return decode(v)
}

// view copies the value at k into *v, reusing its array so that polling
// does not allocate, and reports whether there was one.
func (m *Memory) view(k []byte, v *[]byte) bool {
	err := m.c.GetFn(k, func(b []byte) error {
		*v = append((*v)[:0], b...)
		return nil
	})
	return err == nil && len(*v) > 0
}

// smallReply is the reply size Done copies through a stack buffer; larger
// ones cost one allocation.
const smallReply = 4 << 10

// Done implements Store.
func (m *Memory) Done(_ context.Context, key string, reply []byte) error {
	var kb keyBuf
	k := kb.build(kindHead, key, 0)
	switch {
	case len(reply) > m.maxReply:
		return m.set(k, []byte{tagNoReply})
	case len(k)+1+len(reply) <= m.maxKV:
		var buf [smallReply]byte
		return m.set(k, append(append(buf[:0], tagReply), reply...))
	default:
		return m.doneInParts(k, key, reply)
	}
}

// Abandon implements Store.
func (m *Memory) Abandon(_ context.Context, key string) error {
	var kb keyBuf
	return m.set(kb.build(kindHead, key, 0), []byte{tagNoReply})
}

// Once implements Store.
func (m *Memory) Once(_ context.Context, key string) (bool, error) {
	var kb keyBuf
	one := [1]byte{1}
	v, err := m.c.GetOrSet(kb.build(kindOnce, key, 0), one[:], m.ttl)
	if err != nil {
		return false, fmt.Errorf("dedup memory: once: %w", err)
	}
	return v == nil, nil
}

func (m *Memory) set(k, v []byte) error {
	if err := m.c.Set(k, v, m.ttl); err != nil {
		return fmt.Errorf("dedup memory: done: %w", err)
	}
	return nil
}

// MemoryStats is what a Memory holds, for tests and metrics.
type MemoryStats struct {
	Bytes     int   // the budget: the ring buffers' and bindings' total size, fixed
	Entries   int64 // claims, replies, parts, Once keys and bindings held
	Evacuated int64 // entries evicted (or moved within their ring) and bindings given up, to make room
	Expired   int64 // entries dropped after their TTL
}

// Stats reports the store's counters.
func (m *Memory) Stats() MemoryStats {
	return MemoryStats{
		Bytes:     m.bytes,
		Entries:   m.c.EntryCount() + m.binds.live(m.now()),
		Evacuated: m.c.EvacuateCount() + m.binds.evicted.Load(),
		Expired:   m.c.ExpiredCount(),
	}
}
