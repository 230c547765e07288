package redisurl

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pacing of go-redis's lines: while Redis is unreachable go-redis logs
// every failed dial, dozens a second under load, each like the last. The
// first few of each shape are logged, then one per interval carrying the
// count of those left out.
const (
	logFirst    = 3
	logInterval = time.Minute
	// logShapes bounds the shapes remembered; past it the count starts over.
	logShapes = 256
)

// SetLogger sends go-redis's own log lines (reconnects, failovers) to log
// at WARN, paced per shape (the message with its numbers masked). go-redis
// keeps its logger in a package-level variable, so this is process-wide:
// call it once, from main.
func SetLogger(log *slog.Logger) {
	redis.SetLogger(&slogAdapter{log: log, pace: newPacer(logFirst, logInterval, time.Now)})
}

type slogAdapter struct {
	log  *slog.Logger
	pace *pacer
}

func (a *slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	msg := "redis: " + strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	ok, suppressed := a.pace.allow(shape(msg))
	switch {
	case !ok:
	case suppressed > 0:
		a.log.WarnContext(ctx, msg, "suppressed", suppressed)
	default:
		a.log.WarnContext(ctx, msg)
	}
}

// shape is msg with each run of digits replaced by "#": a dial to
// 10.0.0.7:6379 after 1 attempt is one shape whatever the address or count,
// and "refused" is another shape than "i/o timeout".
func shape(msg string) string {
	var b strings.Builder
	digits := false
	for _, r := range msg {
		if '0' <= r && r <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	return b.String()
}

// pacer lets through the first lines of each shape, then one per interval.
type pacer struct {
	first int
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	shapes map[string]*paced
}

type paced struct {
	seen       int
	last       time.Time // when one was last let through
	suppressed int       // held back since then
}

func newPacer(first int, every time.Duration, now func() time.Time) *pacer {
	return &pacer{first: first, every: every, now: now, shapes: map[string]*paced{}}
}

// allow reports whether a line of shape key is logged now and, if so, how
// many lines of its shape were held back since the last one logged.
func (p *pacer) allow(key string) (ok bool, suppressed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.shapes[key]
	if s == nil {
		if len(p.shapes) >= logShapes {
			clear(p.shapes)
		}
		s = &paced{}
		p.shapes[key] = s
	}
	now := p.now()
	s.seen++
	if s.seen > p.first && now.Sub(s.last) < p.every {
		s.suppressed++
		return false, 0
	}
	suppressed, s.suppressed, s.last = s.suppressed, 0, now
	return true, suppressed
}
