package token

import (
	"context"
	"fmt"
	"time"

	"wxoa/wechat"
)

// What a stored token may claim. WeChat issues every token this package
// keeps — the access_token (official account, mini program, WeCom) and the
// jsapi_ticket — with expires_in 7200 s, so a record that claims more was
// not written from WeChat's answer by a host with a right clock: it was
// planted, or stamped by a clock that had jumped forward. Such a record
// would otherwise be served, and win every save (it looks newest), until
// its claimed expiry.
const (
	// maxLifetime is the longest expires_in WeChat issues.
	maxLifetime = 7200 * time.Second
	// clockSkew is how far another host's clock may run ahead of ours
	// before its records are distrusted: generous for hosts without NTP,
	// and harmless when wrong — a distrusted token costs one fetch, which
	// stable_token answers with the same token.
	clockSkew = 5 * time.Minute
)

// trusted reports whether t's timestamps are ones WeChat could have
// issued by now: fetched no later than now (give or take clockSkew), and
// expiring within maxLifetime (plus clockSkew) of now. Valid and Fresh
// include it, so an untrusted token is expired wherever it is read: the
// file, Redis, the in-memory cache, the watcher's propagation.
func (t Token) trusted(now time.Time) bool {
	return !t.FetchedAt.After(now.Add(clockSkew)) && !t.ExpiresAt.After(now.Add(maxLifetime+clockSkew))
}

// Supersede says which stored token a Save replaces although it was
// fetched later than the token saved: one untrusted at Now, and one WeChat
// rejected. Any other stored token fetched later stays, so an older
// legitimate token never overwrites a newer one across the fleet.
type Supersede struct {
	Now      time.Time     // the saver's clock; zero: time.Now
	Rejected wechat.Secret // a value WeChat refused; "" for none
}

func (s Supersede) now() time.Time {
	if s.Now.IsZero() {
		return time.Now()
	}
	return s.Now
}

// keeps reports whether cur, the stored token, stays when t is saved.
func (s Supersede) keeps(cur, t Token) bool {
	return cur.Value != "" && cur.FetchedAt.After(t.FetchedAt) && cur.trusted(s.now()) &&
		(s.Rejected == "" || !cur.Value.Equal(s.Rejected.Reveal()))
}

// load reads the store, warning once per record about a token no host with
// a right clock could have stored, so the operator learns which host
// (fetched_by) to fix, or that the record was planted. While that host's
// clock stays wrong, it and the others re-save their own tokens over each
// other's (no fetch: each serves its own); nothing but the clock ends that.
func (m *Manager) load(ctx context.Context) (Token, error) {
	t, err := m.store.Load(ctx)
	if err == nil && !t.trusted(m.now()) {
		key := fmt.Sprint(t.FetchedAt.UnixMicro(), t.ExpiresAt.UnixMicro(), t.By)
		if old := m.distrusted.Swap(&key); old == nil || *old != key {
			m.log.Warn("the store holds a token WeChat cannot have issued (fetched in the future, or expiring more than 7200 s ahead); treating it as expired: is the clock of the host that stored it right?",
				"fetched_by", t.By, "fetched_at", t.FetchedAt, "expires_at", t.ExpiresAt)
		}
	}
	return t, err
}
