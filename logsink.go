package main

import (
	"bufio"
	"context"
	"io"
	"sync"
	"time"
)

// logSink batches log lines into one write per flush instead of one
// write(2) per request: the access log would otherwise cost a system call
// on every callback. Lines wait at most flushEvery.
type logSink struct {
	mu sync.Mutex
	w  *bufio.Writer
}

const flushEvery = 100 * time.Millisecond

func newLogSink(w io.Writer) *logSink { return &logSink{w: bufio.NewWriterSize(w, 64<<10)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Flush writes what is buffered.
func (s *logSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// run flushes every flushEvery until ctx ends, then once more.
func (s *logSink) run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Flush()
		case <-ctx.Done():
			s.Flush()
			return
		}
	}
}
