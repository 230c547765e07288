//go:build linux

package tooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestGoTestTellsTheTerminal runs README's test command on two packages
// whose Redis tests (and one promtool check) skip, with neither program on
// PATH: with a pseudo-terminal as the controlling terminal, as a
// developer's shell has, the terminal shows one line per missing program
// for the whole run and go test's output (a pipe here) stays "ok" lines
// only, which is why the notice goes to the terminal; with no terminal (an
// IDE, a script), the lines go to go test's stderr instead.
func TestGoTestTellsTheTerminal(t *testing.T) {
	notices := []string{
		"wxoa tests: skipped the Redis tests: redis-server is not on PATH; apt-get install redis-server redis-tools\n",
		"wxoa tests: skipped the promtool check of /metrics: promtool is not on PATH; apt-get install prometheus\n",
	}
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			screen, out := childGoTest(t, terminal)
			shown := out
			if terminal {
				shown = screen
				if strings.Contains(out, "skipped") {
					t.Errorf("go test's output shows the skips without -v; the test's premise changed:\n%s", out)
				}
			}
			for _, want := range notices {
				if n := strings.Count(shown, want); n != 1 {
					t.Errorf("%q shown %d times; want once:\n%s", want, n, shown)
				}
			}
			if n := strings.Count(screen+out, "wxoa tests:"); n != len(notices) {
				t.Errorf("%d notices in all; want %d:\nterminal:\n%s\noutput:\n%s", n, len(notices), screen, out)
			}
		})
	}
}

// childGoTest runs go test -count=1 [-race] on the packages of
// testdata/needs without redis-server, redis-cli and promtool, with or
// without a controlling terminal, and returns what the terminal showed and
// what go test wrote to its stdout and stderr.
func childGoTest(t *testing.T, terminal bool) (screen, out string) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	args := []string{"test", "-count=1"}
	if raceBuild() { // the same build as ours: the cache has it
		args = append(args, "-race")
	}
	pkgs := []string{"./testdata/needs/redisa", "./testdata/needs/redisb"}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append(args, pkgs...)...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "CI=")
	}), "PATH="+pathWithout(t, "redis-server", "redis-cli", "promtool"), "TMPDIR="+t.TempDir())
	term, tty := openPTY(t)
	var buf bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &buf, &buf
	// A session of its own: no controlling terminal unless it is tty.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: terminal, Ctty: 0}
	shown := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(term) // ends with EIO once every holder of tty has closed it
		shown <- strings.ReplaceAll(string(b), "\r\n", "\n")
	}()
	err = cmd.Run()
	tty.Close()
	screen, out = <-shown, buf.String()
	if err != nil {
		t.Fatalf("go %s: %v\n%s\nterminal:\n%s", strings.Join(cmd.Args[1:], " "), err, out, screen)
	}
	for _, p := range pkgs {
		if !strings.Contains(out, "ok  \twxoa/internal/tooltest/"+strings.TrimPrefix(p, "./")) {
			t.Errorf("go test's output has no ok line for %s:\n%s", p, out)
		}
	}
	return screen, out
}

// raceBuild reports whether this test binary has the race detector.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}

// pathWithout returns a PATH of one directory holding a link to every
// program on PATH but those named: the machine as if they were not
// installed, with gcc, the linker and the rest where go test needs them.
func pathWithout(t *testing.T, missing ...string) string {
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if slices.Contains(missing, e.Name()) {
				continue
			}
			// The first on PATH wins, as it would have.
			if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name())); err != nil && !errors.Is(err, os.ErrExist) {
				t.Fatal(err)
			}
		}
	}
	return bin
}

// openPTY opens a pseudo-terminal: term is the side a terminal emulator
// reads, tty the side a shell and its children have.
func openPTY(t *testing.T) (term, tty *os.File) {
	term, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	var unlock int32
	var n uint32
	if err := ioctl(term, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	if err := ioctl(term, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty's tty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return term, tty
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
