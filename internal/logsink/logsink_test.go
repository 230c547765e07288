package logsink

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

// flakyWriter fails its first write, then records.
type flakyWriter struct {
	mu     sync.Mutex
	failed bool
	got    strings.Builder
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return 0, errors.New("disk full")
	}
	return f.got.Write(p)
}

// hasFailed reports whether the failing write has happened.
func (f *flakyWriter) hasFailed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *flakyWriter) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got.String()
}

func TestLogSink(t *testing.T) {
	w := &flakyWriter{}
	s := New(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()

	s.Write([]byte("lost in the failed write\n"))
	for deadline := time.Now().Add(5 * time.Second); !w.hasFailed(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sink never flushed its first line")
		}
	}
	s.Write([]byte("after the failure\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "after the failure") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(w.String(), "after the failure") {
		t.Fatalf("a failed write stopped logging: got %q", w.String())
	}
	s.Write([]byte("buffered at stop\n"))
	cancel()
	<-done
	s.Write([]byte("after stop\n"))
	if got := w.String(); !strings.Contains(got, "buffered at stop\n") || !strings.HasSuffix(got, "after stop\n") {
		t.Errorf("output = %q; want the buffered line flushed at stop and later lines written through", got)
	}
	big := strings.Repeat("x", flushAt)
	s2w := &flakyWriter{failed: true}
	s2 := New(s2w)
	s2.Write([]byte(big))
	if len(s2w.String()) != flushAt {
		t.Errorf("a full buffer was not flushed at once: %d bytes written", len(s2w.String()))
	}
}

// blockingWriter holds each write until released.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	got     strings.Builder
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

// A batch being written does not hold up the lines logged meanwhile: they
// are added to the next batch, and come out after it, in order.
func TestLogSinkWritesOutsideTheLock(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	s := New(w)
	big := strings.Repeat("x", flushAt-1) + "\n"
	go s.Write([]byte(big)) // full: this caller flushes, and blocks in the write
	<-w.entered
	logged := make(chan struct{})
	go func() {
		s.Write([]byte("during the write\n"))
		close(logged)
	}()
	select {
	case <-logged:
	case <-time.After(5 * time.Second):
		t.Fatal("a line logged while a batch was being written waited for the write")
	}
	close(w.release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	cancel()
	go func() {
		for range w.entered {
		}
	}()
	<-done
	close(w.entered)
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := w.got.String(); got != big+"during the write\n" {
		t.Errorf("output: %d bytes ending %q; want the full batch, then the line logged during its write", len(got), got[max(0, len(got)-20):])
	}
}
