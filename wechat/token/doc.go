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
package token
