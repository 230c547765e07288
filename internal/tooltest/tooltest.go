// Package tooltest finds the programs some tests need besides Go (Redis,
// Chromium, promtool, systemd-analyze). Where one is missing on a
// developer's machine the test is skipped, and the developer is told on
// their terminal, once per program and `go test` run, with the command that
// installs it: `go test ./...` shows a passing package's output only with
// -v, so a t.Skip message alone reaches nobody. In CI (CI=true) a missing
// program fails the test instead: CI must run every test.
package tooltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool is a program some tests need and how a developer gets it.
type Tool struct {
	// Program is looked up on PATH, or is an absolute path.
	Program string
	// Tests names what is skipped without it, for the notice: "the Redis
	// tests". Tools with the same Tests share one notice per run (the
	// Redis tests need redis-server and redis-cli, one package installs both).
	Tests string
	// Install is the command that installs it: "apt-get install prometheus".
	Install string
}

// Notice is the line shown on the developer's terminal when t is missing.
func (t Tool) Notice() string {
	where := "on PATH"
	if filepath.IsAbs(t.Program) {
		where = "installed"
	}
	return fmt.Sprintf("wxoa tests: skipped %s: %s is not %s; %s", t.Tests, t.Program, where, t.Install)
}

// Require returns the path of t's program. Without it, tb fails under
// CI=true; elsewhere it is skipped, and t's notice is shown on the
// terminal the first time in this `go test` run.
func Require(tb testing.TB, t Tool) string {
	tb.Helper()
	path, err := exec.LookPath(t.Program)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%v; CI must run every test: .ci/run installs it (%s)", err, t.Install)
	}
	n := notifier{dir: markerDir(), run: runKey(), open: openTerminal}
	if err := n.once(t.Tests, t.Notice()); err != nil {
		tb.Logf("the notice below was not shown on a terminal: %v", err)
	}
	tb.Skip(t.Notice())
	return ""
}

// markerDir holds the files that make a notice once per run.
func markerDir() string { return filepath.Join(os.TempDir(), "wxoa-test-notices") }

// markerName is key as a file name part.
func markerName(key string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, key)
}
