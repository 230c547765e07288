package handlers

import (
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// AuthLimit bounds failed authentications per client (an IPv4 address or
// an IPv6 /64) on the token API, its drop-in endpoints and the admin page,
// so that guessing the bearer key or the app secret costs the guesser
// time. Zero fields take the defaults.
type AuthLimit struct {
	Burst   int           // failures a client may make in a row; default 10
	Refill  time.Duration // one more failure is allowed per Refill; default 6s
	Clients int           // failing clients remembered, least recent forgotten first; default 10000
}

// authLimiter counts failed authentications per client (clientKey) in a
// token bucket. Only failures take tokens and only failing clients get an
// entry, so well-behaved clients never fill the LRU; its bound keeps memory
// flat when an attacker spreads over many addresses, at the price of
// forgetting the least recent of them.
type authLimiter struct {
	limit   AuthLimit
	now     func() time.Time
	log     *slog.Logger
	clients *lru.Cache[string, *failures]
	// warn paces the "authentication failed" lines, as callback.warn does
	// the refused pushes': each client's failures are bounded by its
	// bucket, but an attacker with many addresses is not.
	warn *rate.Sometimes
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
	return &authLimiter{limit: l, now: now, log: log, clients: clients,
		warn: &rate.Sometimes{First: failureLinesFirst, Interval: time.Second}}, nil
}

// failureLinesFirst is how many failure lines are written before the pace
// applies: two clients' default bursts, so that the start of an attack, or
// a client mistyping the key, is told in full. Later bursts get at least
// their first line (Interval).
const failureLinesFirst = 20

// clientKey is what a client's failures count against: its IPv4 address,
// or the /64 its IPv6 address is in. A /64 is what one subscriber is given
// and picks addresses from at will, so counting per address would give an
// IPv6 client a fresh bucket for every guess, and let it push everyone
// else out of the LRU. An IPv4-mapped address is the IPv4 client, and any
// spelling of an address is the same client. What does not parse (gin
// gives "" for an unreadable peer) is its own key.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return ip
	case a.Is4():
		return ip // ParseAddr takes one spelling of IPv4 only: no allocation
	case a.Is4In6():
		return a.Unmap().String()
	}
	p, _ := a.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
	return p.String()
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
		key := clientKey(c.ClientIP())
		f, ok := l.clients.Peek(key)
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
		l.clients.Get(key) // a client that keeps trying stays remembered
		wait := time.Duration((1 - tokens) * float64(l.limit.Refill))
		secs := max(1, int((wait+time.Second-1)/time.Second))
		f.refused.Add(1)
		last := f.lastWarn.Load()
		if now.UnixNano()-last >= int64(warnEvery) && f.lastWarn.CompareAndSwap(last, now.UnixNano()) {
			l.log.Warn("refusing client after too many failed authentications",
				"client", key, "path", c.Request.URL.Path, "refused", f.refused.Swap(0), "retry_after_s", secs)
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
// Its line names the address itself, not its /64: the more precise of
// the two, where the refusal line names what is refused.
func (l *authLimiter) failedFrom(ip, path, reason string) {
	key := clientKey(ip)
	f, ok := l.clients.Get(key)
	if !ok {
		f = &failures{bucket: rate.NewLimiter(rate.Every(l.limit.Refill), l.limit.Burst)}
		if prev, found, _ := l.clients.PeekOrAdd(key, f); found {
			f = prev
		}
	}
	f.bucket.AllowN(l.now(), 1)
	l.warn.Do(func() {
		l.log.Warn("authentication failed", "client", ip, "path", path, "reason", reason)
	})
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
