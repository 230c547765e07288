package tooltest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// markerLife is how long a run's markers are kept: longer than any test
// run, short enough that /tmp does not fill with them.
const markerLife = 24 * time.Hour

// notifier shows a line once per key and run. Each package of a `go test`
// run is a process of its own, so "once" is a file per key and run,
// created exclusively in dir: the process that creates it shows the line.
type notifier struct {
	dir  string                         // where the markers are
	run  string                         // the run this process is part of; "": no marker, always show
	open func() (io.WriteCloser, error) // the developer's terminal
}

// once shows line unless a process of the same run has shown key's. A
// marker that cannot be made does not stop the line: twice beats never.
func (n notifier) once(key, line string) error {
	if n.run != "" && os.MkdirAll(n.dir, 0o700) == nil {
		n.prune()
		f, err := os.OpenFile(filepath.Join(n.dir, n.run+"."+markerName(key)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		if err == nil {
			f.Close()
		}
	}
	w, err := n.open()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, line)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// prune removes the markers of runs long over.
func (n notifier) prune() {
	entries, _ := os.ReadDir(n.dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > markerLife {
			os.Remove(filepath.Join(n.dir, e.Name()))
		}
	}
}

// runKey names the `go test` run this process is part of: go test runs
// each package's test binary as its child, so the run is the parent, with
// its start time so that a reused pid is another run. A test binary run
// by hand is a run of its own. "" where /proc cannot tell (not Linux).
func runKey() string {
	if ppid, ok := goParent(); ok {
		if start, err := startTime(ppid); err == nil {
			return fmt.Sprintf("go-%d-%s", ppid, start)
		}
	}
	if start, err := startTime(os.Getpid()); err == nil {
		return fmt.Sprintf("pid-%d-%s", os.Getpid(), start)
	}
	return ""
}

// goParent returns the parent's pid if the parent is the go command.
func goParent() (int, bool) {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	return ppid, err == nil && strings.TrimSpace(string(comm)) == "go"
}

// startTime is field 22 of /proc/PID/stat, the process's start in clock
// ticks since boot. The fields are counted after the command name, which
// is in parentheses and may hold spaces.
func startTime(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return fields[19], nil
}

// openTerminal opens where the developer reads: /dev/tty, the controlling
// terminal, which go test's test binaries share with it (it buffers their
// stdout and stderr); without one (an IDE, a script), the go command's own
// stderr, which it does not buffer. Non-blocking, so that a FIFO with no
// reader cannot hold the test.
func openTerminal() (io.WriteCloser, error) {
	f, err := os.OpenFile("/dev/tty", os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		return f, nil
	}
	if ppid, ok := goParent(); ok && appendable(ppid, 2) {
		if f, perr := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", ppid), os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0); perr == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("no terminal: %w", err)
}

// appendable reports whether a line written to process pid's descriptor
// fd, opened anew, stays where it lands: a pipe, a socket or a device
// keeps it; a regular file does only if pid appends to it too (`>>`),
// for with `>` the process writes on at its own offset, over the line.
func appendable(pid, fd int) bool {
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	if err != nil {
		return false
	}
	if !fi.Mode().IsRegular() {
		return true
	}
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(info)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&syscall.O_APPEND != 0
		}
	}
	return false
}
