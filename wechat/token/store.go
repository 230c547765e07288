package token

import (
	"context"
	"errors"
	"time"

	"wxoa/wechat"
)

// Token is a credential WeChat hands out for a limited time: the
// access_token, or a jsapi_ticket. FetchedAt orders tokens: a store never
// replaces a token with one fetched earlier.
type Token struct {
	Value     wechat.Secret `json:"-"`
	ExpiresAt time.Time     `json:"expires_at"`
	FetchedAt time.Time     `json:"fetched_at"`
	// By names the instance that fetched it (Config.Instance), for operators
	// asking which process refreshed last.
	By string `json:"fetched_by,omitempty"`
}

// Valid reports whether the token can still be used at now: it has not
// expired, and its timestamps are ones WeChat could have issued — a token
// fetched in the future, or expiring further ahead than WeChat's 7200 s
// (give or take five minutes of clock skew), is treated as expired.
func (t Token) Valid(now time.Time) bool {
	return t.Value != "" && now.Before(t.ExpiresAt) && t.trusted(now)
}

// Fresh reports whether the token is valid and outside the refresh margin.
func (t Token) Fresh(now time.Time, margin time.Duration) bool {
	return t.Valid(now) && now.Add(margin).Before(t.ExpiresAt)
}

// ErrNoToken is returned by Store.Load when the store holds no token.
var ErrNoToken = errors.New("token: none stored")

// StoreError is a store that could not be reached or written: Redis down,
// the token file's directory gone. The Manager keeps serving the token it
// holds in memory and reports the store as degraded until it answers again.
type StoreError struct {
	Op  string // "load", "save", "lock", "count", "watch"
	Err error
}

func (e *StoreError) Error() string { return "token store " + e.Op + ": " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// Store persists one token (one store per token kind: access_token,
// jsapi_ticket) and coordinates refreshes among everything sharing it.
// Failures to reach the store are *StoreError. Every operation has a
// deadline of its own (a few seconds) besides ctx's, except Lock's wait for
// another holder, which ctx bounds.
type Store interface {
	// Load returns the stored token, or ErrNoToken. A corrupt record is
	// reported as ErrNoToken too (after logging), so the next fetch replaces it.
	Load(ctx context.Context) (Token, error)
	// Save stores t unless the stored token was fetched later than t (a
	// newer token is never overwritten by an older one) and sup does not
	// supersede it (untrusted at sup.Now, or the value WeChat rejected). It
	// returns the token that is stored afterwards.
	Save(ctx context.Context, t Token, sup Supersede) (Token, error)
	// Lock takes the store's refresh lock: a mutex in memory, an advisory
	// file lock, a Redis lock with an owner and a TTL. It blocks until taken
	// or ctx ends. Callers re-read the store after taking it.
	Lock(ctx context.Context) (unlock func(), err error)
	// CountFetch adds one upstream fetch to day's counter (day is
	// "2006-01-02" in Asia/Shanghai) and returns the new count.
	CountFetch(ctx context.Context, day string) (int64, error)
}

// Watcher is a Store shared with other processes that can tell when one of
// them replaced the token, so that every instance serves the new token
// within a second instead of at its own next refresh.
type Watcher interface {
	// Watch runs until ctx ends. It calls changed when the stored token may
	// have been replaced, and probe with the outcome of each periodic check
	// of the store (nil: reachable). Both are called from Watch's goroutine.
	Watch(ctx context.Context, changed func(), probe func(error))
}

// Fetcher asks WeChat for a new token. force asks stable_token for
// force_refresh=true; other fetchers ignore it.
type Fetcher interface {
	Fetch(ctx context.Context, force bool) (Token, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, force bool) (Token, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, force bool) (Token, error) { return f(ctx, force) }

// Checker asks WeChat whether a token still works, with one cheap call:
// nil if it does, an error matching wechat.ErrTokenInvalid if WeChat
// rejects it, any other error if it could not tell.
type Checker interface {
	Check(ctx context.Context, token string) error
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context, token string) error

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context, token string) error { return f(ctx, token) }
