package dedup

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"
)

// bindTable is Memory's bindings: a fixed array of query digest → body
// digest, four entries to a bucket, the bucket chosen by the query digest
// (already uniform: SHA-256). A binding is the one lookup every plaintext
// message makes besides its claim; in freecache it cost a third of the
// store's time under load (a ring append, an index search and an
// evacuation for 32 bytes). Here it touches one bucket. A full bucket
// gives up the binding that expires first, as a full freecache ring
// evicts: under a flood a query may be forgotten early and bind anew.
type bindTable struct {
	buckets []bindBucket
	locks   [64]sync.Mutex // bucket i is guarded by locks[i%64]
	evicted atomic.Int64   // live bindings given up for room
}

type bindBucket [4]bindEntry

type bindEntry struct {
	query, body [16]byte
	expires     uint32 // the clock's seconds; 0: empty
}

// bindEntrySize is an entry's share of the budget.
const bindEntrySize = 36

// newBindTable sizes a table to bytes, at least 64 buckets.
func newBindTable(bytes int) *bindTable {
	n := max(64, bytes/(len(bindBucket{})*bindEntrySize))
	return &bindTable{buckets: make([]bindBucket, n)}
}

func (t *bindTable) bucket(q [16]byte) (*bindBucket, *sync.Mutex) {
	// The digest's top bits scaled to the bucket count: uniform without
	// a division, whatever the count.
	i, _ := bits.Mul64(binary.LittleEndian.Uint64(q[:8]), uint64(len(t.buckets)))
	return &t.buckets[i], &t.locks[i%uint64(len(t.locks))]
}

// bind binds b's query to its body for ttl seconds unless it is bound
// already; it reports false if that is to another body.
func (t *bindTable) bind(b Binding, now, ttl uint32) bool {
	bk, mu := t.bucket(b.Query)
	mu.Lock()
	defer mu.Unlock()
	victim := 0 // an empty or expired entry if there is one, else the first to expire
	for i := range bk {
		e := &bk[i]
		if e.expires > now && e.query == b.Query {
			return e.body == b.Body
		}
		if e.expires < bk[victim].expires {
			victim = i
		}
	}
	if bk[victim].expires > now {
		t.evicted.Add(1)
	}
	bk[victim] = bindEntry{query: b.Query, body: b.Body, expires: now + ttl}
	return true
}

// boundElsewhere reports whether b's query is bound to another body,
// without binding it.
func (t *bindTable) boundElsewhere(b Binding, now uint32) bool {
	bk, mu := t.bucket(b.Query)
	mu.Lock()
	defer mu.Unlock()
	for i := range bk {
		if e := &bk[i]; e.expires > now && e.query == b.Query {
			return e.body != b.Body
		}
	}
	return false
}

// live counts the bindings held, for Stats: a scan, made per scrape.
func (t *bindTable) live(now uint32) (n int64) {
	for i := range t.buckets {
		mu := &t.locks[i%len(t.locks)]
		mu.Lock()
		for j := range t.buckets[i] {
			if t.buckets[i][j].expires > now {
				n++
			}
		}
		mu.Unlock()
	}
	return n
}
