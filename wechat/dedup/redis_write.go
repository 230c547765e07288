package dedup

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// write is one queued write: the value a finished claim stores, or the
// removal of a claim made in vain (unclaim).
type write struct {
	key     string
	val     []byte
	unclaim bool
	failed  func(error) // nil: nothing to do when the write fails
}

// writeBehind sends the writes that a reply does not wait for. The writes
// queued while a batch is in flight go out together as the next batch, one
// pipeline: under load many messages' replies share a round trip. Its
// goroutine runs only while there is something queued, each batch bounded
// by OpTimeout; Flush waits for it.
type writeBehind struct {
	r *Redis

	mu      sync.Mutex
	queue   []write
	running bool
	stopped chan struct{} // closed when the running goroutine returns
}

func (w *writeBehind) add(wr write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = append(w.queue, wr)
	if !w.running {
		w.running = true
		w.stopped = make(chan struct{})
		go w.run(w.stopped)
	}
}

func (w *writeBehind) run(stopped chan struct{}) {
	defer close(stopped)
	var batch []write
	for {
		w.mu.Lock()
		batch, w.queue = w.queue, batch[:0]
		if len(batch) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.send(batch)
		clear(batch) // the values are the replies: let them go
	}
}

// send writes batch in one pipeline and reports each failed write.
func (w *writeBehind) send(batch []write) {
	r := w.r
	ctx, cancel := context.WithTimeout(context.Background(), r.opTimeout)
	defer cancel()
	cmds, _ := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, wr := range batch {
			if wr.unclaim {
				unclaimScript.Eval(ctx, p, []string{wr.key})
			} else {
				p.Set(ctx, wr.key, wr.val, r.ttl)
			}
		}
		return nil
	})
	for i, wr := range batch {
		if wr.failed == nil {
			continue
		}
		if i >= len(cmds) {
			wr.failed(context.Canceled) // not sent: treat as failed
			continue
		}
		if err := cmds[i].Err(); err != nil {
			wr.failed(err)
		}
	}
}

// flush waits until nothing is queued or in flight, or ctx ends.
func (w *writeBehind) flush(ctx context.Context) error {
	for {
		w.mu.Lock()
		running, stopped := w.running, w.stopped
		w.mu.Unlock()
		if !running {
			return nil
		}
		select {
		case <-stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finishLater is Done (abandon false) or Abandon queued behind: it returns
// at once, and failed runs if the write does not land. WithFallback uses
// it, so that failed can store the reply on the fallback.
func (r *Redis) finishLater(key string, reply []byte, abandon bool, failed func(error)) {
	v := []byte{tagNoReply}
	if !abandon {
		v = r.value(reply)
	}
	r.later.add(write{key: r.replyKey(key), val: v, failed: failed})
}

// Flush waits until the writes queued behind replies have landed or
// failed, or ctx ends: at shutdown, so that the last replies reach Redis
// for their retries.
func (r *Redis) Flush(ctx context.Context) error { return r.later.flush(ctx) }

// windowSlots is how finely window tracks the TTL: a byte leaves the count
// at most TTL/windowSlots after the reply holding it expired.
const windowSlots = 64

// window counts the bytes taken over the last TTL, in windowSlots slots
// (plus the current one), against a maximum.
type window struct {
	mu    sync.Mutex
	max   int64
	slot  int64 // nanoseconds
	now   func() time.Time
	last  int64 // index of the newest slot counted
	bytes [windowSlots + 1]int64
	total int64
}

func (w *window) init(maxBytes int64, ttl time.Duration, now func() time.Time) {
	w.max, w.now = maxBytes, now
	w.slot = max((int64(ttl)+windowSlots-1)/windowSlots, 1) // ×windowSlots ≥ TTL
}

// take counts n bytes if they fit, and reports whether they did.
func (w *window) take(n int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := w.advance()
	if w.total+n > w.max {
		return false
	}
	w.bytes[i%int64(len(w.bytes))] += n
	w.total += n
	return true
}

// usage returns the bytes counted and the maximum.
func (w *window) usage() (used, limit int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	return w.total, w.max
}

// advance forgets the slots older than a TTL and returns the current
// slot's index. A reply counted in slot s was written no earlier than
// s×slot and expires no later than s×slot + slot + TTL, which is when slot s
// is reused: the count never forgets a reply Redis still holds.
func (w *window) advance() int64 {
	i := w.now().UnixNano() / w.slot
	n := int64(len(w.bytes))
	if i-w.last >= n {
		w.bytes, w.total = [windowSlots + 1]int64{}, 0
	} else {
		for j := w.last + 1; j <= i; j++ {
			w.total -= w.bytes[j%n]
			w.bytes[j%n] = 0
		}
	}
	w.last = max(w.last, i)
	return i
}
