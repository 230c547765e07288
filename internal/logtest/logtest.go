// Package logtest holds what tests need to read a server's log: a sink that
// concurrent handlers and goroutines may write to while the test reads it.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer for a test's slog handler. Unlike bytes.Buffer it
// may be written by the goroutines under test while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
