package tooltest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/internal/logtest"
)

// terminal is a developer's terminal: what every process wrote to it.
type terminal struct{ logtest.Buffer }

func (t *terminal) open() (io.WriteCloser, error) { return nopCloser{&t.Buffer}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestOnce(t *testing.T) {
	type call struct{ run, key string }
	tests := []struct {
		name  string
		calls []call
		setup func(t *testing.T, dir string) string // returns the marker dir to use
		want  []string
	}{
		{"one tool in two packages of a run", []call{{"go-1-5", "Redis tests"}, {"go-1-5", "Redis tests"}}, nil,
			[]string{"Redis tests"}},
		{"two tools", []call{{"go-1-5", "Redis tests"}, {"go-1-5", "promtool"}, {"go-1-5", "Redis tests"}}, nil,
			[]string{"Redis tests", "promtool"}},
		{"the next run", []call{{"go-1-5", "Redis tests"}, {"go-1-9", "Redis tests"}}, nil,
			[]string{"Redis tests", "Redis tests"}},
		{"a pid reused by another run", []call{{"go-1-5", "Redis tests"}, {"go-1-6", "Redis tests"}}, nil,
			[]string{"Redis tests", "Redis tests"}},
		{"no run known", []call{{"", "Redis tests"}, {"", "Redis tests"}}, nil,
			[]string{"Redis tests", "Redis tests"}},
		{"no marker can be made", []call{{"go-1-5", "Redis tests"}, {"go-1-5", "Redis tests"}},
			func(t *testing.T, dir string) string {
				f := filepath.Join(dir, "file")
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				return f
			},
			[]string{"Redis tests", "Redis tests"}},
		{"a marker left by a run a day ago", []call{{"go-1-5", "Redis tests"}},
			func(t *testing.T, dir string) string {
				old := filepath.Join(dir, "go-1-5."+markerName("Redis tests"))
				if err := os.WriteFile(old, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				day := time.Now().Add(-markerLife - time.Minute)
				if err := os.Chtimes(old, day, day); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			[]string{"Redis tests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				dir = tt.setup(t, dir)
			}
			var term terminal
			for _, c := range tt.calls {
				n := notifier{dir: dir, run: c.run, open: term.open}
				if err := n.once(c.key, c.key); err != nil {
					t.Fatalf("once(%q) = %v", c.key, err)
				}
			}
			got := strings.Split(strings.TrimSuffix(term.String(), "\n"), "\n")
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("terminal shows %q; want %q", got, tt.want)
			}
		})
	}
}

// TestOnceRacing: every package of a run skips at once; one line.
func TestOnceRacing(t *testing.T) {
	dir := t.TempDir()
	var term terminal
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			n := notifier{dir: dir, run: "go-1-5", open: term.open}
			if err := n.once("Redis tests", "skipped the Redis tests"); err != nil {
				t.Errorf("once = %v", err)
			}
		})
	}
	wg.Wait()
	if got := strings.Count(term.String(), "skipped"); got != 1 {
		t.Errorf("16 racing packages showed %d lines; want 1:\n%s", got, term.String())
	}
}

func TestOnceNoTerminal(t *testing.T) {
	none := errors.New("no tty")
	n := notifier{dir: t.TempDir(), run: "go-1-5", open: func() (io.WriteCloser, error) { return nil, none }}
	if err := n.once("Redis tests", "line"); !errors.Is(err, none) {
		t.Errorf("once without a terminal = %v; want %v", err, none)
	}
}

func TestNotice(t *testing.T) {
	tests := []struct {
		tool Tool
		want string
	}{
		{Tool{"redis-server", "the Redis tests", "apt-get install redis-server redis-tools"},
			"wxoa tests: skipped the Redis tests: redis-server is not on PATH; apt-get install redis-server redis-tools"},
		{Tool{"/usr/bin/chromium", "the browser tests", "apt-get install chromium"},
			"wxoa tests: skipped the browser tests: /usr/bin/chromium is not installed; apt-get install chromium"},
	}
	for _, tt := range tests {
		if got := tt.tool.Notice(); got != tt.want {
			t.Errorf("Notice() = %q; want %q", got, tt.want)
		}
	}
}

// TestRunKey: the packages of a go test run are children of one go
// command, so they name the same run; it is this test binary's parent.
func TestRunKey(t *testing.T) {
	k := runKey()
	if k == "" || k != runKey() {
		t.Fatalf("runKey() = %q, then %q; want one non-empty key", k, runKey())
	}
	if _, ok := goParent(); ok && !strings.HasPrefix(k, "go-") {
		t.Errorf("runKey() under go test = %q; want the go command's", k)
	}
}

// TestAppendable: with `go test ./... > log` the go command writes the
// log at its own offset, over a line appended meanwhile, so its stderr is
// written to only where the line stays.
func TestAppendable(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	file := func(name string, flag int) func(t *testing.T) *os.File {
		return func(t *testing.T) *os.File {
			f, err := os.OpenFile(name, flag, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	tests := []struct {
		name string
		open func(t *testing.T) *os.File
		want bool
	}{
		{"a pipe (an IDE)", func(t *testing.T) *os.File {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return w
		}, true},
		{"a device", file(os.DevNull, os.O_WRONLY), true},
		{"a file opened with >", file(log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC), false},
		{"a file opened with >>", file(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.open(t)
			defer f.Close()
			if got := appendable(os.Getpid(), int(f.Fd())); got != tt.want {
				t.Errorf("appendable(%s) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}
