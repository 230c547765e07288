package tunnel

import (
	"context"
	"net"
	"sync"
	"time"
)

// listener stops accepting when closed but keeps the tunnel up for the
// connections it already handed out, because the tunnel carries them: ending
// it at once would cut the requests http.Server.Shutdown is draining.
type listener struct {
	net.Listener
	end       context.CancelCauseFunc // takes the tunnel down
	drain     time.Duration
	authtoken string

	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	conns  int  // accepted and not yet closed
	closed bool // Close was called
	timer  *time.Timer
	// stopCtx unregisters the close-on-ctx callback.
	stopCtx func() bool
}

// errDrainTimeout ends a tunnel whose connections outlived the drain.
const errDrainTimeout Error = "tunnel closed with connections still open after the drain timeout"

// newListener wraps ln and closes it when ctx ends.
func newListener(ctx context.Context, ln net.Listener, end context.CancelCauseFunc, drain time.Duration, authtoken string) *listener {
	l := &listener{Listener: ln, end: end, drain: drain, authtoken: authtoken}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopCtx = context.AfterFunc(ctx, func() { _ = l.Close() })
	return l
}

// Accept returns the next connection through the tunnel, counted until it is
// closed.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		return nil, scrubError(err, l.authtoken)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed { // accepted as Close ran: the tunnel may already be ending
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns++
	return &conn{Conn: c, l: l}, nil
}

// Close stops accepting. The tunnel ends when the last accepted connection
// is closed, or after the drain timeout. Closing twice returns the first
// result.
func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		stop := l.stopCtx
		l.mu.Unlock()
		stop()
		l.closeErr = scrubError(l.Listener.Close(), l.authtoken)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closed = true
		if l.conns == 0 {
			l.end(nil)
			return
		}
		l.timer = time.AfterFunc(l.drain, func() { l.end(errDrainTimeout) })
	})
	return l.closeErr
}

// release counts a closed connection and ends the tunnel after the last one
// once the listener is closed.
func (l *listener) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns--
	if l.closed && l.conns == 0 {
		if l.timer != nil {
			l.timer.Stop()
		}
		l.end(nil)
	}
}

// conn reports its first Close to the listener.
type conn struct {
	net.Conn
	l    *listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
