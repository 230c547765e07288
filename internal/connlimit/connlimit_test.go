package connlimit

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"wxoa/internal/logtest"
)

// pipeListener hands out the server ends of net.Pipe connections, or the
// errors queued before them; Close ends Accept.
type pipeListener struct {
	conns  chan net.Conn
	errs   chan error
	closed chan struct{}
	close  func()
}

func newPipeListener() *pipeListener {
	p := &pipeListener{conns: make(chan net.Conn), errs: make(chan error, 100), closed: make(chan struct{})}
	p.close = sync.OnceFunc(func() { close(p.closed) })
	return p
}

func (p *pipeListener) Accept() (net.Conn, error) {
	select {
	case err := <-p.errs:
		return nil, err
	default:
	}
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

func (p *pipeListener) Close() error   { p.close(); return nil }
func (p *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// dial queues a connection and returns its client end.
func (p *pipeListener) dial() net.Conn {
	server, client := net.Pipe()
	go func() { p.conns <- server }()
	return client
}

// closedByServer reports whether the server end of client was closed.
func closedByServer(client net.Conn) bool {
	client.SetReadDeadline(time.Now().Add(time.Second))
	_, err := client.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func newLimited(t *testing.T, limit int) (*Listener, *pipeListener, *logtest.Buffer) {
	t.Helper()
	inner, logs := newPipeListener(), &logtest.Buffer{}
	l, err := New(inner, Config{Max: limit, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, inner, logs
}

// accept is Accept for a connection already dialled.
func accept(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept() = %v", err)
	}
	return c
}

// At the cap the connection idle longest, counted from its last request,
// is closed to admit a new one; busy and newer idle ones stay.
func TestCapClosesIdleLongest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, inner, logs := newLimited(t, 3)
		clients := make([]net.Conn, 3)
		servers := make([]net.Conn, 3)
		for i := range clients {
			clients[i] = inner.dial()
			servers[i] = accept(t, l)
			l.ConnState(servers[i], http.StateNew)
			l.ConnState(servers[i], http.StateActive)
		}
		l.ConnState(servers[0], http.StateIdle)
		l.ConnState(servers[1], http.StateIdle)
		time.Sleep(time.Second)
		l.ConnState(servers[0], http.StateActive) // a second request on 0
		l.ConnState(servers[0], http.StateIdle)   // so 1 is now idle longest
		// 2 stays busy.
		for i, wantClosed := range []int{1, 0} {
			inner.dial()
			accept(t, l)
			if !closedByServer(clients[wantClosed]) {
				t.Errorf("new connection %d at the cap: connection %d, idle longest, is open", i, wantClosed)
			}
		}
		if s := l.Stats(); s.Open != 3 || s.Idle != 0 || s.Evicted != 2 {
			t.Errorf("Stats() = %+v; want 3 open, 0 idle, 2 evicted", s)
		}
		if n := strings.Count(logs.String(), "connection cap reached"); n != 1 {
			t.Errorf("cap-reached lines = %d; want 1 (paced)\n%s", n, logs)
		}
		clients[2].SetReadDeadline(time.Now().Add(time.Second))
		if _, err := clients[2].Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the busy connection: Read = %v; want it still open", err)
		}
	})
}

// With every connection busy, a new one waits, accepted but not admitted,
// until one closes or goes idle; Close ends the wait.
func TestCapWaitsWhenAllBusy(t *testing.T) {
	tests := []struct {
		name string
		free func(l *Listener, busy net.Conn)
		want error
	}{
		{"busy one closes", func(_ *Listener, busy net.Conn) { busy.Close() }, nil},
		{"busy one goes idle", func(l *Listener, busy net.Conn) { l.ConnState(busy, http.StateIdle) }, nil},
		{"listener closed", func(l *Listener, _ net.Conn) { l.Close() }, net.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, inner, logs := newLimited(t, 1)
				inner.dial()
				busy := accept(t, l)
				l.ConnState(busy, http.StateActive)
				waiting := inner.dial()
				got := make(chan error, 1)
				go func() {
					_, err := l.Accept()
					got <- err
				}()
				synctest.Wait()
				select {
				case err := <-got:
					t.Fatalf("Accept() with every connection busy = %v; want it to wait", err)
				default:
				}
				if s := l.Stats(); s.Waited != 1 || !strings.Contains(logs.String(), "every connection is busy") {
					t.Errorf("Stats() = %+v, log %q; want one wait, logged", s, logs)
				}
				tt.free(l, busy)
				if err := <-got; !errors.Is(err, tt.want) {
					t.Errorf("Accept() once freed = %v; want %v", err, tt.want)
				}
				if tt.want != nil && !closedByServer(waiting) {
					t.Error("the connection waiting when the listener closed was left open")
				}
			})
		})
	}
}

// Out of file descriptors, Accept closes an idle connection and retries,
// else backs off 5 ms doubling to 1 s, never returning the error, and logs
// once a minute.
func TestAcceptOutOfDescriptors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, inner, logs := newLimited(t, 10)
		idleClient := inner.dial()
		idle := accept(t, l)
		l.ConnState(idle, http.StateIdle)
		emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
		for range 10 {
			inner.errs <- emfile
		}
		inner.dial()
		start := time.Now()
		accept(t, l)
		// The first failure frees the idle connection's descriptor; the
		// nine after back off 5+10+20+...+1000 ms.
		if got, want := time.Since(start), (5+10+20+40+80+160+320+640+1000)*time.Millisecond; got != want {
			t.Errorf("Accept took %v through 10 EMFILEs; want %v of back-off", got, want)
		}
		if !closedByServer(idleClient) {
			t.Error("the idle connection was not closed to free a descriptor")
		}
		if s := l.Stats(); s.Exhausted != 10 || s.Evicted != 1 || s.Open != 1 {
			t.Errorf("Stats() = %+v; want 10 exhausted, 1 evicted, 1 open", s)
		}
		time.Sleep(paceEvery)
		inner.errs <- emfile
		inner.dial()
		accept(t, l)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "too many open files") || !strings.Contains(lines[1], "since_last_line=9") {
			t.Errorf("log = %q; want one line, then one a minute later counting the 9 held back", lines)
		}
	})
}

// Errors other than running out of descriptors are returned as they are.
func TestAcceptOtherErrors(t *testing.T) {
	l, inner, _ := newLimited(t, 1)
	boom := errors.New("boom")
	inner.errs <- boom
	if _, err := l.Accept(); !errors.Is(err, boom) {
		t.Errorf("Accept() = %v; want %v", err, boom)
	}
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept() after Close = %v; want net.ErrClosed", err)
	}
}

// A connection's slot is freed once however it ends, and connections this
// Listener did not accept are not counted.
func TestReleaseOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, inner, _ := newLimited(t, 2)
		inner.dial()
		c := accept(t, l)
		l.ConnState(c, http.StateIdle)
		c.Close()
		c.Close()
		l.ConnState(c, http.StateClosed)
		other, _ := net.Pipe()
		l.ConnState(other, http.StateIdle)
		if s := l.Stats(); s.Open != 0 || s.Idle != 0 {
			t.Errorf("Stats() = %+v; want nothing open or idle", s)
		}
	})
}

func TestDefaultMax(t *testing.T) {
	tests := []struct {
		limit uint64
		want  int
	}{
		{0, Ceiling}, {1, 1}, {64, 32}, {1024, 512}, {8192, Ceiling}, {524288, Ceiling}, {1 << 63, Ceiling},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			if got := DefaultMax(tt.limit); got != tt.want {
				t.Errorf("DefaultMax(%d) = %d; want %d", tt.limit, got, tt.want)
			}
		})
	}
}

func TestNewRefusesNoCap(t *testing.T) {
	if _, err := New(newPipeListener(), Config{}); err == nil {
		t.Error("New with Max 0 = nil error; want one")
	}
}

func TestRaiseFileLimit(t *testing.T) {
	soft, hard, err := RaiseFileLimit()
	if err != nil || soft == 0 || soft != hard {
		t.Errorf("RaiseFileLimit() = %d, %d, %v; want the soft limit raised to the hard one", soft, hard, err)
	}
}
