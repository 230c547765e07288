package dedup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMemoryBudget floods a store with far more than its budget, as a
// captured signed URL could in plaintext mode, and checks that the heap
// stays within the budget plus freecache's index.
func TestMemoryBudget(t *testing.T) {
	const budget = 16 << 20
	tests := []struct {
		name      string
		n, size   int
		maxGrowth uint64 // heap growth allowed after GC, store alive
	}{
		// 120 MB of replies; the index is a few hundred KiB.
		{"2,000 × 60 KB replies", 2000, 60_000, budget + 4<<20},
		// Tiny entries make freecache's index as large as it gets: about
		// the budget again (see MemoryConfig.Bytes).
		{"300,000 × 7-byte replies", 300_000, 7, 2*budget + 4<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			reply := fill(tt.size, 1)
			before := heapAfterGC()
			m := NewMemory(MemoryConfig{Bytes: budget})
			var kb [24]byte
			for i := range tt.n {
				key := string(strconv.AppendInt(append(kb[:0], "msg:"...), int64(i), 10))
				if ok, _, err := m.Claim(ctx, key); !ok || err != nil {
					t.Fatalf("Claim(%q) = %v, %v; want a new claim", key, ok, err)
				}
				binary.BigEndian.PutUint32(reply[len(reply)-4:], uint32(i))
				if err := m.Done(ctx, key, reply); err != nil {
					t.Fatalf("Done(%q): %v", key, err)
				}
				if i%1000 != 0 {
					continue
				}
				if s := m.Stats(); s.Bytes > budget {
					t.Fatalf("store accounts %d bytes; want at most the budget, %d", s.Bytes, budget)
				}
			}
			growth := heapAfterGC() - before
			st := m.Stats()
			// The newest message is still answered from the store.
			last := "msg:" + strconv.Itoa(tt.n-1)
			if ok, got, err := m.Claim(ctx, last); ok || err != nil || !bytes.Equal(got, reply) {
				t.Errorf("Claim(%q) after the flood = %v, %d bytes, %v; want its reply", last, ok, len(got), err)
			}
			runtime.KeepAlive(m)
			t.Logf("heap growth %.1f MiB for %.1f MiB sent; %d entries, %d evacuated",
				float64(growth)/(1<<20), float64(tt.n*tt.size)/(1<<20), st.Entries, st.Evacuated)
			if growth > tt.maxGrowth {
				t.Errorf("heap grew %d bytes; want at most %d", growth, tt.maxGrowth)
			}
			if st.Evacuated == 0 {
				t.Errorf("nothing evicted after %d bytes into a %d-byte store", tt.n*tt.size, budget)
			}
		})
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryLostEntries covers entries evicted under a full budget: a
// claim that vanished is taken over, and a reply missing a part is
// reported done without bytes, never assembled from the wrong ones.
func TestMemoryLostEntries(t *testing.T) {
	ctx := context.Background()
	var kb keyBuf
	t.Run("pending claim evicted", func(t *testing.T) {
		m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, PollEvery: time.Millisecond})
		m.Claim(ctx, "msg:1")
		time.AfterFunc(20*time.Millisecond, func() { m.c.Del(kb.build(kindHead, "msg:1", 0)) })
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if ok, _, err := m.Claim(tctx, "msg:1"); !ok || err != nil {
			t.Errorf("Claim after the claim vanished = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("part evicted", func(t *testing.T) {
		m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
		m.Claim(ctx, "msg:2")
		m.Done(ctx, "msg:2", fill(5000, 1))
		var pb keyBuf
		m.c.Del(pb.build(kindPart, "msg:2", 1))
		if ok, got, err := m.Claim(ctx, "msg:2"); ok || !errors.Is(err, ErrNoReply) {
			t.Errorf("Claim = %v, %d bytes, %v; want false, ErrNoReply", ok, len(got), err)
		}
	})
	t.Run("part overwritten by a later reply", func(t *testing.T) {
		m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
		m.Done(ctx, "msg:3", fill(5000, 1))
		var hb keyBuf
		head, _ := m.c.Get(hb.build(kindHead, "msg:3", 0))
		m.Done(ctx, "msg:3", fill(5000, 2))
		m.c.Set(hb.build(kindHead, "msg:3", 0), head, m.ttl) // the first reply's head, the second's parts
		if ok, got, err := m.Claim(ctx, "msg:3"); ok || !errors.Is(err, ErrNoReply) {
			t.Errorf("Claim = %v, %d bytes, %v; want false, ErrNoReply", ok, len(got), err)
		}
	})
}
