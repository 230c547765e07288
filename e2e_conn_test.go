package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// rawConn is a client connection driven by hand, so that the test decides
// when it is idle, busy or gone.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, p *proc) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.base, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// send writes a GET of path, keeping the connection alive.
func (c *rawConn) send(path string) error {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: wxoa\r\n\r\n", path)
	return err
}

// answer reads one response within d and returns its status.
func (c *rawConn) answer(d time.Duration) (int, error) {
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// get is send and answer: the bound is a deadline for a stuck server,
// not a measurement.
func (c *rawConn) get(path string) (int, error) {
	if err := c.send(path); err != nil {
		return 0, err
	}
	return c.answer(10 * time.Second)
}

// closedByServer reports whether the server closes c within d.
func (c *rawConn) closedByServer(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// serverConns counts the connections p has accepted and holds open: its
// established TCP sockets on its listening port, read from /proc.
func (p *proc) serverConns(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.base, "http://"))
	dir := fmt.Sprintf("/proc/%d/", p.pid())
	fds, err := os.ReadDir(dir + "fd")
	if err != nil {
		t.Fatal(err)
	}
	sockets := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(dir + "fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			sockets[strings.TrimSuffix(inode, "]")] = true
		}
	}
	// A socket that moves in the kernel's table while it is read can be
	// listed twice: count inodes.
	established := map[string]bool{}
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(dir + table)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line) // sl local remote st ... inode (10th)
			if len(f) < 10 {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			local, _ := strconv.ParseUint(hexPort, 16, 16)
			if strconv.FormatUint(local, 10) == port && f[3] == "01" && sockets[f[9]] {
				established[f[9]] = true
			}
		}
	}
	return len(established)
}

// At MAX_CONNECTIONS, a new connection is admitted by closing an idle
// one: /healthz answers while the busy connections are still busy, one
// idle connection closes per new one, the rest stay served, and the server
// never holds more than the cap. (Which idle one goes first — the one idle
// longest — is connlimit's test: the order in which the server sees
// connections turn idle is not the order their answers reach us.)
func TestProcConnectionCap(t *testing.T) {
	const limit, busy = 8, 4
	arrived := make(chan struct{}, busy)
	p, release := slowForwardProc(t, arrived, map[string]string{"MAX_CONNECTIONS": strconv.Itoa(limit)})
	p.client.CloseIdleConnections() // start-up's probe
	waitFor(t, "the start-up probe's connection to close", func() bool { return p.serverConns(t) == 0 })
	idle := make([]*rawConn, limit-busy)
	for i := range idle {
		idle[i] = dialRaw(t, p)
		if code, err := idle[i].get("/healthz"); code != 200 {
			t.Fatalf("/healthz on idle connection %d = %d, %v", i, code, err)
		}
	}
	answers := sendSlow(t, p, busy, arrived)
	if n := p.serverConns(t); n != limit {
		t.Fatalf("server holds %d connections; want the cap, %d", n, limit)
	}
	closed := map[int]bool{}
	countClosed := func() int {
		for i, c := range idle {
			if !closed[i] && c.closedByServer(10*time.Millisecond) {
				closed[i] = true
			}
		}
		return len(closed)
	}
	for i := range 2 {
		c := dialRaw(t, p)
		// The forwards are held until release: an answer now did not wait
		// for a busy connection to finish.
		if code, err := c.get("/healthz"); code != 200 {
			t.Fatalf("/healthz on a new connection at the cap = %d, %v; want 200", code, err)
		}
		waitFor(t, fmt.Sprintf("an idle connection to close for new connection %d", i), func() bool { return countClosed() > i })
		if n := countClosed(); n != i+1 {
			t.Errorf("after %d new connections at the cap, %d idle ones closed; want %d", i+1, n, i+1)
		}
		if n := p.serverConns(t); n > limit {
			t.Errorf("server holds %d connections; want at most %d", n, limit)
		}
	}
	for i, c := range idle {
		if code, err := c.get("/healthz"); !closed[i] && code != 200 {
			t.Errorf("/healthz on idle connection %d, not closed = %d, %v; want it still served", i, code, err)
		}
	}
	release()
	collect(t, answers, busy)
}

// With every connection busy at the cap, a new one waits for a slot,
// neither refused nor served past the cap, and is served once one frees.
func TestProcConnectionCapAllBusy(t *testing.T) {
	const limit = 4
	arrived := make(chan struct{}, limit)
	p, release := slowForwardProc(t, arrived, map[string]string{"MAX_CONNECTIONS": strconv.Itoa(limit)})
	p.client.CloseIdleConnections()
	waitFor(t, "the start-up probe's connection to close", func() bool { return p.serverConns(t) == 0 })
	answers := sendSlow(t, p, limit, arrived)
	c := dialRaw(t, p)
	if err := c.send("/healthz"); err != nil {
		t.Fatal(err)
	}
	var timeout net.Error
	if code, err := c.answer(500 * time.Millisecond); !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("/healthz with every connection busy at the cap = %d, %v; want it to wait", code, err)
	}
	release()
	collect(t, answers, limit)
	if code, err := c.answer(10 * time.Second); code != 200 {
		t.Errorf("/healthz once a connection freed = %d, %v; want 200", code, err)
	}
}

// startLimited is startProc with the open-file limit (soft and hard) set
// to nofile, as a container or an old init system may leave it.
func startLimited(t *testing.T, name string, nofile int, vars map[string]string) *proc {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "ulimit -n "+strconv.Itoa(nofile)+` && exec "$0"`, os.Args[0])
	return startCmd(t, name, cmd, vars)
}

// A flood of idle keep-alive connections never takes the file
// descriptors: by default the cap is half the file limit, and a cap set
// above it meets "too many open files", which closes idle connections
// instead of stopping accepts, logged once.
func TestProcFileLimit(t *testing.T) {
	const nofile, flood = 64, 100
	tests := []struct {
		name      string
		max       string // MAX_CONNECTIONS
		wantCap   int
		wantLines int // "too many open files" log lines
	}{
		{name: "default cap", max: "", wantCap: nofile / 2, wantLines: 0},
		{name: "cap above the limit", max: "1000", wantCap: nofile, wantLines: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			vars := e2eVars(t, fake)
			vars["MAX_CONNECTIONS"] = tt.max
			p := startLimited(t, "limited", nofile, vars)
			for i := range flood {
				c := dialRaw(t, p)
				if code, err := c.get("/healthz"); code != 200 {
					t.Fatalf("/healthz on connection %d of a flood of idle ones = %d, %v; want 200\n%s", i, code, err, p.logs)
				}
				if n := p.serverConns(t); n > tt.wantCap {
					t.Fatalf("server holds %d connections; want at most %d", n, tt.wantCap)
				}
			}
			p.stop(t) // exits 0
			logs := p.logs.String()
			if got := strings.Count(logs, "accept4: too many open files"); got != tt.wantLines {
				t.Errorf(`"accept4: too many open files" in %d log lines; want %d`+"\n%s", got, tt.wantLines, logs)
			}
			if want := fmt.Sprintf("soft=%d hard=%d", nofile, nofile); !strings.Contains(logs, want) {
				t.Errorf("the log does not give the file limit (%s)\n%s", want, logs)
			}
		})
	}
}
