// Package redistest starts real redis-server processes for tests, on free
// 127.0.0.1 ports, and stops them on cleanup, the way net/http/httptest
// starts servers: a single node that can be stopped and restarted on the
// same port, a Redis Cluster, and a Sentinel setup.
//
// Without redis-server on PATH a test is skipped, except in CI (CI=true),
// where it fails: CI must run every Redis test.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary returns the path of redis-server, skipping tb (failing it in CI)
// when there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("redis-server not on PATH; CI must provide it (.ci/run installs it)")
		}
		tb.Skip("redis-server not on PATH")
	}
	return bin
}

// Start runs a redis-server on a free port with persistence off; extra
// arguments are appended to its command line (e.g. "--cluster-enabled",
// "yes"). It is killed on cleanup.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), port: FreePort(tb), dir: tb.TempDir(), args: extra}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

// URL returns redis://127.0.0.1:PORT/0, or REDIS_URL's form for this server.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Addr returns 127.0.0.1:PORT.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// Dir is the server's working directory (nodes.conf for a cluster node).
func (s *Server) Dir() string { return s.dir }

func (s *Server) start() {
	s.tb.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir}, s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	WaitPing(s.tb, s.Addr())
}

// Stop kills the server; calling it again, or after Restart's stop, is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// Restart starts the server again on the same port, empty (persistence is
// off), as a Redis that crashed and came back would be.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}

// Client returns a client for the server, closed on cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	tb.Cleanup(func() { c.Close() })
	return c
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitPing waits until addr answers PING, failing tb after 10 s.
func WaitPing(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(addr); err == nil {
			return
		} else if time.Now().After(deadline) {
			tb.Fatalf("redis at %s not answering: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// URL returns REDIS_URL when set, else the URL of a server started for tb.
// Tests that need to stop or restart Redis use Start instead.
func URL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return Start(tb).URL()
}

// Client returns a client for URL(tb), closed on cleanup, after checking
// that it answers.
func Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	return ClientFor(tb, URL(tb))
}

// ClientFor returns a client for a single-node url, closed on cleanup,
// after checking that it answers.
func ClientFor(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return c
		}
		if ctx.Err() != nil {
			tb.Fatalf("redis at %s not answering: %v", opts.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFile writes a config file into dir, failing tb on error.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
