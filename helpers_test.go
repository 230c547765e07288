package main

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// lockedBuffer collects a server's logs from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mapGetenv is a getenv over vars only, so a developer's environment and
// .env never leak into a test.
func mapGetenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
