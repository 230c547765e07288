package dedup

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// binding is the i-th distinct query, bound to body.
func binding(i int, body string) Binding {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(i))
	return Bind("1700000000", string(n[:]), "sig", []byte(body))
}

// sameBucket returns n distinct bindings that share t's bucket.
func sameBucket(t *bindTable, n int, body string) []Binding {
	var out []Binding
	for i := 0; len(out) < n; i++ {
		b := binding(i, body)
		if bk, _ := t.bucket(b.Query); bk == &t.buckets[0] {
			out = append(out, b)
		}
	}
	return out
}

func TestBindTable(t *testing.T) {
	const ttl = 60
	t.Run("bound, replayed, expired", func(t *testing.T) {
		tb := newBindTable(64 << 10)
		b := binding(1, "<xml>first</xml>")
		other := b
		other.Body = Bind("", "", "", []byte("<xml>forged</xml>")).Body
		if !tb.bind(b, 1000, ttl) || !tb.bind(b, 1001, ttl) {
			t.Fatal("the query with its own body: refused")
		}
		if tb.bind(other, 1002, ttl) || !tb.boundElsewhere(other, 1002) {
			t.Fatal("the query with another body: accepted")
		}
		if tb.boundElsewhere(b, 1002) {
			t.Fatal("boundElsewhere with its own body")
		}
		// Expired: the query binds anew, to whatever body comes first.
		if !tb.bind(other, 1000+ttl, ttl) || tb.boundElsewhere(other, 1000+ttl) {
			t.Fatal("after the TTL the query is still bound to the first body")
		}
	})
	t.Run("a full bucket gives up the binding that expires first", func(t *testing.T) {
		tb := newBindTable(0)
		bs := sameBucket(tb, len(bindBucket{})+1, "body")
		for i, b := range bs[:len(bindBucket{})] {
			tb.bind(b, uint32(1000+i), ttl) // bs[0] expires first
		}
		if n := tb.evicted.Load(); n != 0 {
			t.Fatalf("evicted %d filling the bucket", n)
		}
		tb.bind(bs[len(bs)-1], 1010, ttl)
		if n := tb.evicted.Load(); n != 1 {
			t.Fatalf("evicted %d; want 1", n)
		}
		var forged Binding
		for i, b := range bs {
			forged = b
			forged.Body = Bind("", "", "", []byte("forged")).Body
			if got, want := tb.boundElsewhere(forged, 1010), i != 0; got != want {
				t.Errorf("binding %d held = %v; want %v (only the first to expire is given up)", i, got, want)
			}
		}
	})
	t.Run("an expired entry is reused before a live one is given up", func(t *testing.T) {
		tb := newBindTable(0)
		bs := sameBucket(tb, len(bindBucket{})+1, "body")
		for i, b := range bs[:len(bindBucket{})] {
			tb.bind(b, uint32(1000+i*10), ttl) // bs[0] is expired at 1065, the others not
		}
		tb.bind(bs[len(bs)-1], 1065, ttl)
		if n := tb.evicted.Load(); n != 0 {
			t.Errorf("evicted %d live bindings while an expired one was there", n)
		}
		if n := tb.live(1065); n != int64(len(bindBucket{})) {
			t.Errorf("live = %d; want %d", n, len(bindBucket{}))
		}
	})
	t.Run("size", func(t *testing.T) {
		for _, bytes := range []int{0, MinMemoryBytes / 8, DefaultMemoryBytes / 8, 1 << 30} {
			tb := newBindTable(bytes)
			size := len(tb.buckets) * len(bindBucket{}) * bindEntrySize
			if len(tb.buckets) > 64 && size > bytes {
				t.Errorf("newBindTable(%d): %d bytes", bytes, size)
			}
			if size+len(bindBucket{})*bindEntrySize <= bytes {
				t.Errorf("newBindTable(%d): only %d bytes", bytes, size)
			}
		}
	})
}

// TestMemoryBindingsHold: a Memory at its smallest budget keeps a
// minute of bindings at 100 messages a second while its ring turns over
// with their replies, and refuses each query with another body.
func TestMemoryBindingsHold(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, Now: func() time.Time { return now }})
	ctx := context.Background()
	const n = 6000
	reply := fill(300, 1)
	for i := range n {
		b := binding(i, "body")
		key := "msg:" + string(rune('a'+i%26)) + string(b.Query[:4])
		if ok, _, err := m.ClaimBound(ctx, key, b); err != nil || !ok {
			t.Fatalf("ClaimBound %d = %v, %v", i, ok, err)
		}
		m.Done(ctx, key, reply)
		if i%100 == 99 {
			now = now.Add(time.Second)
		}
	}
	if st := m.Stats(); st.Evacuated == 0 {
		t.Errorf("Stats() = %+v: the ring never turned over; the test does not test anything", st)
	}
	var lost int
	for i := range n {
		if !m.boundElsewhere(binding(i, "forged")) {
			lost++
		}
	}
	// 1 MiB / 8 holds 3,640 bindings at most: the newest are kept.
	if lost > n-3000 {
		t.Errorf("%d of %d bindings lost", lost, n)
	}
	t.Logf("%d of %d bindings given up at a 1 MiB budget", lost, n)
}
