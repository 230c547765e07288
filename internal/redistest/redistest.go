// Package redistest starts real redis-server processes for tests, on free
// 127.0.0.1 ports, and stops them on cleanup, the way net/http/httptest
// starts servers: a single node that can be stopped and restarted on the
// same port, a Redis Cluster, and a Sentinel setup.
//
// Without redis-server (or, for a cluster, redis-cli) on PATH a test is
// skipped, and the developer told once per run how to install them (see
// tooltest), except in CI (CI=true), where it fails: CI must run every
// Redis test.
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

	"wxoa/internal/tooltest"
)

// Server is one redis-server process.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	dir  string
	conf string // path of the config file, first on the command line; "" for none
	args []string

	mu   sync.Mutex
	proc *process
}

// process is one run of a Server; exited lets a start notice a
// redis-server that died (a port taken meanwhile, a bad option) at once
// instead of waiting out the readiness timeout.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's, set before exited is closed
}

// Binary returns the path of redis-server, skipping tb (failing it in CI)
// when there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	return lookBinary(tb, "redis-server")
}

func lookBinary(tb testing.TB, name string) string {
	tb.Helper()
	return tooltest.Require(tb, tooltest.Tool{Program: name, Tests: "the Redis tests", Install: "apt-get install redis-server redis-tools"})
}

// Start runs a redis-server on a free port with persistence off; extra
// arguments are appended to its command line (e.g. "--maxmemory", "1mb").
// It is killed on cleanup.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return startServer(tb, FreePort(tb), "", extra...)
}

// startServer is Start on a given port; a non-empty conf is written to
// redis.conf in the server's directory, where a sentinel can rewrite it, and
// given as the config file.
func startServer(tb testing.TB, port int, conf string, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), port: port, dir: tb.TempDir(), args: extra}
	if conf != "" {
		s.conf = writeFile(tb, s.dir, "redis.conf", conf)
	}
	tb.Cleanup(s.Stop)
	s.start()
	return s
}

// URL returns redis://127.0.0.1:PORT/0, or REDIS_URL's form for this server.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Addr returns 127.0.0.1:PORT.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *Server) start() {
	s.tb.Helper()
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	args = append(args, s.args...)
	log, err := os.OpenFile(s.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Start()
	log.Close() // the child has its own descriptor
	if err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	s.waitReady(p)
}

// waitReady waits until the server answers as process p: a PING alone
// could be answered by another test's redis-server that got the port first.
func (s *Server) waitReady(p *process) {
	s.tb.Helper()
	poll(s.tb, 10*time.Second, "redis-server on "+s.Addr()+" ready", func(ctx context.Context) error {
		select {
		case <-p.exited:
			s.tb.Fatalf("redis-server on %s exited (%v):\n%s", s.Addr(), p.err, s.logTail())
		default:
		}
		// The quiet raw PING first: go-redis logs every failed dial.
		if err := ping(s.Addr()); err != nil {
			return err
		}
		c := adminClient(s.Addr())
		defer c.Close()
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		if pid := infoField(info, "process_id"); pid != strconv.Itoa(p.cmd.Process.Pid) {
			return fmt.Errorf("answered by process %s, not ours (%d)", pid, p.cmd.Process.Pid)
		}
		return nil
	})
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "redis.log") }

// logTail is the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop kills the server; calling it again, or after Restart's stop, is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.cmd.Process.Kill()
		<-p.exited
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
	return freePorts(tb, 1)[0]
}

// freePorts returns n distinct ports; holding each listener until all are
// picked is what makes them distinct.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
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
	poll(tb, 10*time.Second, "redis at "+opts.Addr+" answering", func(ctx context.Context) error {
		return c.Ping(ctx).Err()
	})
	return c
}
