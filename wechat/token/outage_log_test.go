package token

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wxoa/internal/redistest"
)

// readOnlyDir makes dir refuse new files until the returned function (also
// run on cleanup) restores it. As root, whom permissions do not stop, it
// sets the immutable attribute instead (ext4, xfs, btrfs; needs
// CAP_LINUX_IMMUTABLE).
func readOnlyDir(t *testing.T, dir string) (restore func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		restore = func() { os.Chmod(dir, 0o700) }
	} else {
		setImmutable(t, dir, true)
		restore = func() { setImmutable(t, dir, false) }
	}
	once := sync.OnceFunc(restore)
	t.Cleanup(once)
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
		t.Fatalf("%s still accepts new files", dir)
	}
	return once
}

func setImmutable(t *testing.T, dir string, on bool) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatalf("read the attributes of %s: %v", dir, err)
	}
	if on {
		flags |= fsImmutableFL
	} else {
		flags &^= fsImmutableFL
	}
	v := int(flags)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, v); err != nil {
		t.Fatalf("set the immutable attribute of %s to %v: %v", dir, on, err)
	}
}

var downFor = regexp.MustCompile(`token store available again.* down_for=(\S+)`)

// storeLines counts the outage's two log lines and returns the down_for the
// second reported.
func storeLines(t *testing.T, logs string) (down, up int, d time.Duration) {
	t.Helper()
	down = strings.Count(logs, "token store unavailable")
	up = strings.Count(logs, "token store available again")
	if m := downFor.FindStringSubmatch(logs); m != nil {
		var err error
		if d, err = time.ParseDuration(m[1]); err != nil {
			t.Fatalf("down_for=%s: %v", m[1], err)
		}
	}
	return down, up, d
}

// A store flapping up and down logs one line when it goes down and one when
// it has stayed up for storeUpHold, with the outage measured from its first
// failure to its last recovery.
func TestFlappingStoreLogsWithHysteresis(t *testing.T) {
	clk := newFakeClock()
	store := &flakyStore{Store: NewMemoryStore()}
	var logs logBuf
	m := mustManager(t, Config{Store: store, Fetcher: newFakeFetcher(clk.Now), Now: clk.Now, Logger: logs.logger()})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	setDown := func(down bool) {
		store.down.Store(down)
		eventually(t, "the watcher to see the change", func() bool { return (m.Health() != nil) == down })
	}
	setDown(true)
	for range 5 {
		clk.Advance(time.Second)
		setDown(false)
		clk.Advance(time.Second)
		setDown(true)
	}
	clk.Advance(time.Second)
	setDown(false) // back for good, 11 s after the first failure
	clk.Advance(storeUpHold - time.Second)
	time.Sleep(50 * time.Millisecond) // several probes, none past the hold
	if down, up, _ := storeLines(t, logs.String()); down != 1 || up != 0 {
		t.Fatalf("a store flapping 6 times logged %d outages and %d recoveries before the hold; want 1 and 0:\n%s", down, up, logs.String())
	}
	clk.Advance(2 * time.Second)
	eventually(t, "the recovery to be logged", func() bool { _, up, _ := storeLines(t, logs.String()); return up == 1 })
	down, up, d := storeLines(t, logs.String())
	if down != 1 || up != 1 || d != 11*time.Second {
		t.Errorf("logged %d outages, %d recoveries, down_for %v; want 1, 1, 11s:\n%s", down, up, d, logs.String())
	}
}

// The same with real stores: a token directory that refuses writes for a
// while, and a Redis stopped and started. The Manager's clock runs ahead
// one second per probe interval so that down_for shows where it is
// measured from.
func TestStoreOutageLogLines(t *testing.T) {
	var dir string
	var restore func()
	var srv *redistest.Server
	tests := []struct {
		name       string
		open       func(t *testing.T) Store
		down, back func(t *testing.T)
	}{
		{"read-only token directory", func(t *testing.T) Store {
			dir = filepath.Join(t.TempDir(), "state")
			s, err := NewFileStore(filepath.Join(dir, "access_token.json"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return NewCachedStore(s)
		}, func(t *testing.T) { restore = readOnlyDir(t, dir) }, func(*testing.T) { restore() }},
		{"redis stopped and started", func(t *testing.T) Store {
			srv = redistest.Start(t)
			return NewCachedStore(NewRedisStore(srv.Client(t), redisKey(t), nil))
		}, func(*testing.T) { srv.Stop() }, func(*testing.T) { srv.Restart() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var logs logBuf
			f := newFakeFetcher(clk.Now)
			m := mustManager(t, Config{Store: tt.open(t), Fetcher: f, Now: clk.Now, Logger: logs.logger(), MinForceInterval: time.Nanosecond})
			if _, err := m.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			tt.down(t)
			// A forced refresh gets a token the store cannot take: every
			// probe from now on finds the store answering reads and retries
			// sharing it, which fails again.
			if _, err := m.ForceRefresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			eventually(t, "Health to report the store", func() bool { return m.Health() != nil })
			for range 12 {
				time.Sleep(DefaultFilePoll)
				clk.Advance(time.Second)
			}
			if down, up, _ := storeLines(t, logs.String()); down != 1 || up != 0 {
				t.Errorf("during the outage: %d outage lines, %d recovery lines; want 1 and 0:\n%s", down, up, logs.String())
			}
			tt.back(t)
			eventually(t, "Health to recover", func() bool { return m.Health() == nil })
			clk.Advance(storeUpHold + time.Second)
			eventually(t, "the recovery to be logged", func() bool { _, up, _ := storeLines(t, logs.String()); return up == 1 })
			down, up, d := storeLines(t, logs.String())
			if down != 1 || up != 1 || d < 12*time.Second || d > 13*time.Second {
				t.Errorf("%d outage lines, %d recovery lines, down_for %v; want 1, 1 and 12s (from the first failure)", down, up, d)
			}
		})
	}
}

// fsImmutableFL is FS_IMMUTABLE_FL from linux/fs.h, which x/sys/unix lacks.
const fsImmutableFL = 0x10
