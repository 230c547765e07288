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
}

// Valid reports whether the token can still be used at now.
func (t Token) Valid(now time.Time) bool { return t.Value != "" && now.Before(t.ExpiresAt) }

// Fresh reports whether the token is valid and outside the refresh margin.
func (t Token) Fresh(now time.Time, margin time.Duration) bool {
	return t.Value != "" && now.Add(margin).Before(t.ExpiresAt)
}

// ErrNoToken is returned by Store.Load when the store holds no token.
var ErrNoToken = errors.New("token: none stored")

// Store persists one token (one store per token kind: access_token,
// jsapi_ticket) and coordinates refreshes among everything sharing it.
type Store interface {
	// Load returns the stored token, or ErrNoToken. A corrupt record is
	// reported as ErrNoToken too (after logging), so the next fetch replaces it.
	Load(ctx context.Context) (Token, error)
	// Save stores t unless the stored token was fetched later than t (a
	// newer token is never overwritten by an older one). It returns the token
	// that is stored afterwards.
	Save(ctx context.Context, t Token) (Token, error)
	// Lock takes the store's refresh lock: a mutex in memory, an advisory
	// file lock, a Redis lock with an owner and a TTL. It blocks until taken
	// or ctx ends. Callers re-read the store after taking it.
	Lock(ctx context.Context) (unlock func(), err error)
	// CountFetch adds one upstream fetch to day's counter (day is
	// "2006-01-02" in Asia/Shanghai) and returns the new count.
	CountFetch(ctx context.Context, day string) (int64, error)
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
