package token

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

const cacheKey = "t"

// cachedStore answers Load from memory so that re-reads cost a map lookup,
// not a file read or a Redis round trip. The entry expires with the token;
// it cannot mask a newer token written by another process: the store's
// watcher drops it on every change, and every refresh goes through Lock,
// which drops it too so the re-read after locking reaches the shared store.
type cachedStore struct {
	inner Store
	cache *gocache.Cache

	// mu and gen keep a Load that raced with Lock or Save from putting back
	// a token older than the one those stored.
	mu  sync.Mutex
	gen uint64
}

var _ Store = (*cachedStore)(nil)

// NewCachedStore puts an in-memory cache (go-cache) in front of inner. Save
// writes through; Lock takes inner's lock and forgets the cached token.
func NewCachedStore(inner Store) Store {
	// No janitor goroutine (cleanup interval 0): there is one entry, and it
	// is checked for expiry on every Get.
	c := &cachedStore{inner: inner, cache: gocache.New(gocache.NoExpiration, 0)}
	if w, ok := inner.(Watcher); ok {
		return watchingCachedStore{c, w}
	}
	return c
}

func (c *cachedStore) Load(ctx context.Context) (Token, error) {
	if v, ok := c.cache.Get(cacheKey); ok {
		return *v.(*Token), nil
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	t, err := c.inner.Load(ctx)
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	if gen == c.gen {
		c.put(t)
	}
	c.mu.Unlock()
	return t, nil
}

// put caches t until it expires; c.mu must be held.
func (c *cachedStore) put(t Token) {
	// go-cache keeps its own wall clock; the Manager checks expiry with its
	// clock anyway, so this is only a bound on how long an entry lives — and
	// no longer than a token WeChat issues can live, whatever one claims.
	d := min(time.Until(t.ExpiresAt), maxLifetime+clockSkew)
	if t.Value == "" || d <= 0 {
		c.cache.Delete(cacheKey)
		return
	}
	c.cache.Set(cacheKey, &t, d)
}

func (c *cachedStore) Save(ctx context.Context, t Token, sup Supersede) (Token, error) {
	saved, err := c.inner.Save(ctx, t, sup)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if err != nil {
		// The shared store is unwritable; keep serving the token this process
		// just paid a fetch for rather than fetching again on the next call.
		if checkSavable(t) == nil {
			c.put(t)
		}
		return t, err
	}
	c.put(saved)
	return saved, nil
}

func (c *cachedStore) Lock(ctx context.Context) (func(), error) {
	unlock, err := c.inner.Lock(ctx)
	// Forget the entry even when the lock was not taken: errTokenChanged
	// means the shared store has something newer to re-read.
	c.forget()
	return unlock, err
}

func (c *cachedStore) CountFetch(ctx context.Context, day string) (int64, error) {
	return c.inner.CountFetch(ctx, day)
}

// forget drops the cached token so the next Load reads the shared store.
func (c *cachedStore) forget() {
	c.mu.Lock()
	c.gen++
	c.cache.Delete(cacheKey)
	c.mu.Unlock()
}

// watchingCachedStore is a cachedStore over a Watcher: a change another
// process made drops the cached entry before the Manager re-reads.
type watchingCachedStore struct {
	*cachedStore
	w Watcher
}

var _ Watcher = watchingCachedStore{}

func (c watchingCachedStore) Watch(ctx context.Context, changed func(), probe func(error)) {
	c.w.Watch(ctx, func() { c.forget(); changed() }, probe)
}
