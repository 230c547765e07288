package dedup

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// claimRace has n callers claim one key at once, spread over stores (two
// stores: two instances sharing one backend). Exactly one must run the
// rule; every other caller must get the runner's reply.
func claimRace(t *testing.T, n int, stores ...Store) {
	t.Helper()
	want := fill(3000, 9)
	var claimed atomic.Int32
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			ok, reply, err := s.Claim(context.Background(), "msg:42")
			if ok {
				claimed.Add(1)
				time.Sleep(30 * time.Millisecond) // the rule runs; the others wait
				err = s.Done(context.Background(), "msg:42", want)
				reply = want
			}
			got[i], errs[i] = reply, err
		})
	}
	wg.Wait()
	if c := claimed.Load(); c != 1 {
		t.Fatalf("claimed by %d callers on %d instance(s); want 1", c, len(stores))
	}
	for i := range n {
		if errs[i] != nil || !bytes.Equal(got[i], want) {
			t.Fatalf("caller %d: %d bytes, %v; want the claimer's %d bytes", i, len(got[i]), errs[i], len(want))
		}
	}
}

// onceRace has 50 callers ask Once for one key at once, spread over stores:
// exactly one may be told to go ahead.
func onceRace(t *testing.T, stores ...Store) {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		s := stores[i%len(stores)]
		wg.Go(func() {
			if ok, err := s.Once(context.Background(), "msg:9"); ok && err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if w := wins.Load(); w != 1 {
		t.Errorf("Once reported true to %d of 50 callers on %d instance(s); want 1", w, len(stores))
	}
}
