// Package redisa is run by TestGoTestTellsTheTerminal in a child go test,
// with neither Redis nor promtool on PATH.
package redisa

import (
	"testing"

	"wxoa/internal/redistest"
	"wxoa/internal/tooltest"
)

func TestRedis(t *testing.T) { redistest.Start(t) }

func TestPromtool(t *testing.T) {
	tooltest.Require(t, tooltest.Tool{Program: "promtool", Tests: "the promtool check of /metrics", Install: "apt-get install prometheus"})
}
