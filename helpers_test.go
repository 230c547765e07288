package main

import (
	"testing"

	"wxoa/internal/harness"
	"wxoa/internal/logtest"
)

// lockedBuffer collects a server's logs from its goroutines.
type lockedBuffer = logtest.Buffer

// mapGetenv is a getenv over vars only, so a developer's environment and
// .env never leak into a test.
func mapGetenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := harness.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}
