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
type Sink struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	stopped bool
}

const (
	flushEvery = 100 * time.Millisecond
	flushAt    = 64 << 10 // flush early when this much is waiting
)

// New returns a Sink writing to w; Run must be running for lines to flush.
func New(w io.Writer) *Sink { return &Sink{w: w, buf: make([]byte, 0, flushAt)} }

func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= flushAt {
		s.flushLocked()
	}
	return len(p), nil
}

func (s *Sink) flushLocked() {
	if len(s.buf) > 0 {
		s.w.Write(s.buf) // nowhere to report a failure to: the log is the report
		s.buf = s.buf[:0]
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
			s.mu.Lock()
			s.flushLocked()
			s.mu.Unlock()
		case <-ctx.Done():
			s.mu.Lock()
			s.flushLocked()
			s.stopped = true
			s.mu.Unlock()
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
