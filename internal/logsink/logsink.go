// Package logsink batches log lines into one write per flush: the access
// log would otherwise cost a system call on every callback.
package logsink

import (
	"context"
	"io"
	"sync"
	"time"
)

// Sink batches log lines into one write per flush instead of one
// write(2) per request: the access log would otherwise cost a system call
// on every callback. Lines wait at most flushEvery. A failed write drops
// that batch and logging goes on (bufio.Writer would stay failed for good);
// once stopped, lines are written through, so nothing logged during the
// last steps of shutdown is lost.
//
// The write happens outside the lock lines are added under: a batch going
// out (64 KiB to a slow pipe) does not hold up the requests logging
// meanwhile, which a single lock made the slowest percentile of every
// route wait for.
type Sink struct {
	mu      sync.Mutex // guards buf and stopped
	buf     []byte
	stopped bool

	wmu   sync.Mutex // serialises writes to w, in the order the lines came
	w     io.Writer
	spare []byte // the batch being written; guarded by wmu
}

const (
	flushEvery = 100 * time.Millisecond
	flushAt    = 64 << 10 // flush early when this much is waiting
)

// New returns a Sink writing to w; Run must be running for lines to flush.
func New(w io.Writer) *Sink {
	return &Sink{w: w, buf: make([]byte, 0, flushAt), spare: make([]byte, 0, flushAt)}
}

func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	full := len(s.buf) >= flushAt
	s.mu.Unlock()
	if full {
		s.flush()
	}
	return len(p), nil
}

// flush writes what is waiting.
func (s *Sink) flush() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.buf, s.spare = s.spare[:0], s.buf
	s.mu.Unlock()
	if len(s.spare) > 0 {
		s.w.Write(s.spare) // nowhere to report a failure to: the log is the report
	}
}

// Run flushes every flushEvery until ctx ends, then flushes once more and
// switches to writing through.
func (s *Sink) Run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flush()
		case <-ctx.Done():
			s.wmu.Lock()
			s.mu.Lock()
			s.stopped = true
			rest := s.buf
			s.buf = nil
			s.mu.Unlock()
			if len(rest) > 0 {
				s.w.Write(rest)
			}
			s.wmu.Unlock()
			return
		}
	}
}

// Start runs a Sink over w in a goroutine of its own. stop flushes what is
// waiting, switches the Sink to writing through (for the last lines of a
// shutdown) and waits for the goroutine.
func Start(w io.Writer) (s *Sink, stop func()) {
	s = New(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	return s, func() { cancel(); <-done }
}
