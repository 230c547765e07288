// Package connlimit caps the connections a server holds open. At the cap,
// a new connection is admitted by closing the one idle longest: an idle
// keep-alive holds a file descriptor and some 20 KB for nobody, while the
// new connection is someone waiting — WeChat pushing a message, a health
// check. Only when every connection is busy does a new one wait for a
// slot; the cap is never passed. When the process runs out of file
// descriptors all the same (other files, outbound connections), accepting
// closes idle connections and backs off instead of failing.
package connlimit

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is a Listener's cap and where it reports.
type Config struct {
	// Max is the most connections served at once; it must be above 0.
	Max int
	// Logger gets paced WARN lines: the cap reached, every connection
	// busy, descriptors exhausted. Nil logs nothing.
	Logger *slog.Logger
}

// Stats is a snapshot of a Listener's connections and what the cap did.
type Stats struct {
	Max, Open, Idle int
	Evicted         int64 // idle connections closed to admit a new one or free a descriptor
	Waited          int64 // new connections that found every one busy
	Exhausted       int64 // accepts refused for want of a file descriptor
}

// Listener is a net.Listener that holds at most Config.Max connections.
// Give its ConnState to the http.Server serving it, which is how it learns
// which connections are idle.
type Listener struct {
	net.Listener
	max       int
	log       *slog.Logger
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	// idleSeq numbers the moves to idle: the connection with the lowest
	// number is the one idle longest. ConnState runs twice per request,
	// so it takes no lock: a mutex there was the server's most contended
	// one under load (two cores parking and waking each other on every
	// request).
	idleSeq atomic.Uint64
	waiting atomic.Int32 // admits looking for, or waiting for, a slot

	mu      sync.Mutex
	open    int
	conns   []*conn       // the admitted connections, in no order
	changed chan struct{} // closed, and replaced, when a slot may have freed
	stats   Stats
	capLog  pacer // the cap reached
	busyLog pacer // every connection busy
	fdLog   pacer // out of descriptors
}

var _ net.Listener = (*Listener)(nil)

// New wraps ln.
func New(ln net.Listener, cfg Config) (*Listener, error) {
	if cfg.Max <= 0 {
		return nil, errors.New("connlimit: Max must be above 0")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, max: cfg.Max, log: log, done: make(chan struct{}), changed: make(chan struct{})}, nil
}

// conn is an admitted connection; its Close gives the slot back.
type conn struct {
	net.Conn
	l *Listener
	// idle is the Listener's idleSeq when it last went idle; 0 while it is
	// new or busy.
	idle atomic.Uint64
	// Guarded by l.mu.
	at   int  // its index in l.conns
	gone bool // closed, or chosen to be: its slot is free
}

func (c *conn) Close() error {
	c.l.release(c)
	return c.Conn.Close()
}

// Accept waits for a connection and a slot for it. Running out of file
// descriptors (EMFILE, ENFILE) is not returned: http.Server would log
// every retry, and a pending connection stays queued in the kernel, so
// Accept closes an idle connection to free a descriptor, or backs off as
// http.Server does (5 ms, doubling to 1 s), and tries again.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		nc, err := l.Listener.Accept()
		if err == nil {
			return l.admit(nc)
		}
		if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
			return nil, err
		}
		l.mu.Lock()
		l.stats.Exhausted++
		victim := l.popIdle()
		if victim != nil {
			l.stats.Evicted++
		}
		open, exhausted := l.open, l.stats.Exhausted
		say, repeats := l.fdLog.allow(time.Now())
		l.mu.Unlock()
		if say {
			l.log.Warn("out of file descriptors: closing idle connections and retrying accepts",
				"err", err, "open", open, "max", l.max, "times", exhausted, "since_last_line", repeats)
		}
		if victim != nil {
			victim.Conn.Close()
			delay = 0
			continue
		}
		delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

// admit takes a slot for nc, closing the connection idle longest when
// there is none, or waiting for one when every connection is busy.
func (l *Listener) admit(nc net.Conn) (net.Conn, error) {
	l.mu.Lock()
	waited := false
	for l.open >= l.max {
		// Counted as waiting before looking for an idle connection: one
		// going idle after the look sees the count and wakes us (ConnState).
		l.waiting.Add(1)
		if victim := l.popIdle(); victim != nil {
			l.waiting.Add(-1)
			l.stats.Evicted++
			say, repeats := l.capLog.allow(time.Now())
			evicted := l.stats.Evicted
			l.mu.Unlock()
			if say {
				l.log.Warn("connection cap reached: closing the connections idle longest to admit new ones",
					"max", l.max, "closed", evicted, "since_last_line", repeats)
			}
			victim.Conn.Close()
			l.mu.Lock()
			continue
		}
		say, repeats, count := false, 0, int64(0)
		if !waited {
			waited = true
			l.stats.Waited++
			say, repeats = l.busyLog.allow(time.Now())
			count = l.stats.Waited
		}
		changed := l.changed
		l.mu.Unlock()
		if say {
			l.log.Warn("every connection is busy at the cap: new connections wait for one to finish",
				"max", l.max, "waited", count, "since_last_line", repeats)
		}
		select {
		case <-changed:
		case <-l.done:
			l.waiting.Add(-1)
			nc.Close()
			return nil, net.ErrClosed
		}
		l.mu.Lock()
		l.waiting.Add(-1)
	}
	l.open++
	c := &conn{Conn: nc, l: l, at: len(l.conns)}
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return c, nil
}

// popIdle chooses the connection idle longest to be closed and frees its
// slot; the caller closes it after unlocking. l.mu is held. It looks at
// every connection: that happens only at the cap, once per connection
// admitted there, where a list kept in order would cost a lock on every
// request.
func (l *Listener) popIdle() *conn {
	for {
		var victim *conn
		var oldest uint64
		for _, c := range l.conns {
			if seq := c.idle.Load(); seq != 0 && (victim == nil || seq < oldest) {
				victim, oldest = c, seq
			}
		}
		if victim == nil {
			return nil
		}
		// A request may have made it busy since: then look again.
		if victim.idle.CompareAndSwap(oldest, 0) {
			l.forget(victim)
			return victim
		}
	}
}

// forget frees c's slot. l.mu is held.
func (l *Listener) forget(c *conn) {
	c.gone = true
	l.open--
	last := l.conns[len(l.conns)-1]
	l.conns[c.at], last.at = last, c.at
	l.conns[len(l.conns)-1] = nil
	l.conns = l.conns[:len(l.conns)-1]
}

// release frees c's slot, once.
func (l *Listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.gone {
		return
	}
	l.forget(c)
	l.wake()
}

// wake tells waiting admits that a slot may have freed. l.mu is held.
func (l *Listener) wake() {
	if l.waiting.Load() > 0 {
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// ConnState is the http.Server hook that tells the Listener which
// connections are idle. A connection that goes idle again moves to the
// back of the line: "idle longest" counts from its last request, which
// also makes it the one a client pool (Go's reuses the most recent first)
// is least likely to pick next. Connections from other listeners are
// ignored.
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	if state != http.StateIdle {
		c.idle.Store(0)
		return
	}
	c.idle.Store(l.idleSeq.Add(1))
	if l.waiting.Load() > 0 {
		l.mu.Lock()
		l.wake()
		l.mu.Unlock()
	}
}

// Close stops accepting; admitted connections stay open (http.Server's
// Shutdown drains them).
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Stats returns the current counts.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Max, s.Open = l.max, l.open
	for _, c := range l.conns {
		if c.idle.Load() != 0 {
			s.Idle++
		}
	}
	return s
}

// pacer lets one log line through per minute and counts the rest: a flood
// of connections is a line a minute, not a line per connection.
type pacer struct {
	next       time.Time
	suppressed int
}

const paceEvery = time.Minute

// allow reports whether to log now, and how many lines were held back
// since the last one.
func (p *pacer) allow(now time.Time) (bool, int) {
	if now.Before(p.next) {
		p.suppressed++
		return false, 0
	}
	n := p.suppressed
	p.next, p.suppressed = now.Add(paceEvery), 0
	return true, n
}
