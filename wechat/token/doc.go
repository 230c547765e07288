// Package token is the central control for WeChat's access_token (and the
// jsapi_ticket, which works the same way): one Manager per token hands
// every caller the same value and makes sure one fetch at a time reaches
// WeChat, whose token endpoints are rate-limited and which retires the old
// token when a new one is issued.
//
// One refresh at a time is enforced at every level:
//
//   - in the process, by singleflight, with the fetch detached from the
//     caller who started it so that a caller giving up cancels nothing;
//   - on one host, by an advisory file lock (file store);
//   - across hosts, by a Redis lock with an owner and a TTL (Redis store);
//
// and after taking a lock the Manager re-reads the store, so whoever waited
// picks up the token the holder fetched instead of fetching again.
//
// A token is refreshed ahead of expiry (Config.Margin) in the background
// while callers keep getting the current one; a failed fetch never replaces
// a token that still works. Stores come from Open ("memory", "file:PATH",
// "redis://...") wrapped in an in-memory cache.
//
// What a store holds is checked, not trusted: a record claiming more than
// WeChat issues (expires_in 7200 s; fetched in the future or expiring more
// than 7200 s ahead, give or take five minutes of clock skew) is expired
// wherever it is read and replaced by the next save, as is a token WeChat
// rejected, whatever its timestamps. A token file is read only if it is a
// small regular file, without blocking; every store operation has a
// deadline; and a store that flaps is logged once when it fails and once
// when it has answered for ten seconds, with the outage's whole length.
package token
