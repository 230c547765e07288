package handlers

import (
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// AuthLimit bounds failed authentications per client address on the token
// API and its drop-in endpoints, so that guessing the bearer key or the app
// secret costs the guesser time. Zero fields take the defaults.
type AuthLimit struct {
	Burst   int           // failures a client may make in a row; default 10
	Refill  time.Duration // one more failure is allowed per Refill; default 6s
	Clients int           // failing clients remembered, least recent forgotten first; default 10000
}

// authLimiter counts failed authentications per client in a token bucket.
// Only failures take tokens and only failing clients get an entry, so
// well-behaved clients never fill the LRU; its bound keeps memory flat when
// an attacker spreads over many addresses, at the price of forgetting the
// least recent of them.
type authLimiter struct {
	limit   AuthLimit
	now     func() time.Time
	log     *slog.Logger
	clients *lru.Cache[string, *failures]
}

type failures struct {
	bucket   *rate.Limiter
	lastWarn atomic.Int64 // UnixNano of the last "refusing" line
	refused  atomic.Int64 // requests refused since that line
}

func newAuthLimiter(l AuthLimit, now func() time.Time, log *slog.Logger) (*authLimiter, error) {
	if l.Burst < 0 || l.Refill < 0 || l.Clients < 0 {
		return nil, errors.New("handlers: AuthLimit fields must not be negative")
	}
	if l.Burst == 0 {
		l.Burst = 10
	}
	if l.Refill == 0 {
		l.Refill = 6 * time.Second
	}
	if l.Clients == 0 {
		l.Clients = 10_000
	}
	clients, err := lru.New[string, *failures](l.Clients)
	if err != nil {
		return nil, err
	}
	return &authLimiter{limit: l, now: now, log: log, clients: clients}, nil
}

// warnEvery spaces the lines about a client being refused: one per failure
// is useful, one per refused request would let the client flood the log.
const warnEvery = time.Minute

// gate refuses a client over its limit before its credentials are looked
// at, so that a correct guess made while refused is not confirmed either.
// refuse writes the answer, given the seconds until the client may retry.
func (l *authLimiter) gate(refuse func(c *gin.Context, retryAfter int)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.clients.Len() == 0 {
			c.Next() // nobody has failed: spare the hot path ClientIP's allocation
			return
		}
		ip := c.ClientIP()
		f, ok := l.clients.Peek(ip)
		if !ok {
			c.Next()
			return
		}
		now := l.now()
		tokens := f.bucket.TokensAt(now)
		if tokens >= 1 {
			c.Next()
			return
		}
		l.clients.Get(ip) // a client that keeps trying stays remembered
		wait := time.Duration((1 - tokens) * float64(l.limit.Refill))
		secs := max(1, int((wait+time.Second-1)/time.Second))
		f.refused.Add(1)
		last := f.lastWarn.Load()
		if now.UnixNano()-last >= int64(warnEvery) && f.lastWarn.CompareAndSwap(last, now.UnixNano()) {
			l.log.Warn("refusing client after too many failed authentications",
				"client", ip, "path", c.Request.URL.Path, "refused", f.refused.Swap(0), "retry_after_s", secs)
		}
		refuse(c, secs)
		c.Abort()
	}
}

// failed records a failed authentication by c's client and logs it. reason
// says what was wrong, never what was presented.
func (l *authLimiter) failed(c *gin.Context, reason string) {
	l.failedFrom(c.ClientIP(), c.Request.URL.Path, reason)
}

// failedFrom is failed for a caller that has no gin.Context (the admin
// page, an http.Handler mounted in the router), given the client address.
func (l *authLimiter) failedFrom(ip, path, reason string) {
	f, ok := l.clients.Get(ip)
	if !ok {
		f = &failures{bucket: rate.NewLimiter(rate.Every(l.limit.Refill), l.limit.Burst)}
		if prev, found, _ := l.clients.PeekOrAdd(ip, f); found {
			f = prev
		}
	}
	f.bucket.AllowN(l.now(), 1)
	l.log.Warn("authentication failed", "client", ip, "path", path, "reason", reason)
}

// refuseJSON answers the bearer API's refusal.
func (l *authLimiter) refuseJSON(c *gin.Context, retryAfter int) {
	writeError(c, l.log, &tooManyFailuresError{retryAfter: time.Duration(retryAfter) * time.Second})
}

// refuseWeChat answers the drop-in endpoints' refusal in WeChat's shape for
// calling too often, which SDKs already parse.
func refuseWeChat(c *gin.Context, retryAfter int) {
	c.Header("Retry-After", strconv.Itoa(retryAfter))
	wechatError(c, 45011)
}
