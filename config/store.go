package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"wxoa/wechat/redisurl"
	"wxoa/wechat/token"
)

// AdminSessionsFile is where, beside TOKEN_STORE's token files, the admin
// page keeps its sign-outs.
const AdminSessionsFile = "admin_sessions.json"

// store parses TOKEN_STORE once into the typed spec token.Open takes.
func (l *loader) store(key, def string) token.Spec {
	s, err := token.ParseSpec(l.str(key, def))
	if err != nil {
		l.fail(key, "%v", err)
	}
	// The token files would be the sign-outs' file and lock: each store
	// would overwrite the other's.
	if s.Kind == token.KindFile && filepath.Base(s.Path) == AdminSessionsFile {
		l.fail(key, "%s is the admin page's sign-outs, kept beside the token files: name the token file otherwise (e.g. access_token.json)", AdminSessionsFile)
	}
	return s
}

// DedupSpec is DEDUP_STORE: where callbacks are claimed so that a message
// WeChat retries on another instance gets the first answer.
type DedupSpec struct {
	// Memory keeps claims in this process only (DEDUP_STORE=memory).
	Memory bool
	// Redis is a Redis of its own for claims (DEDUP_STORE=redis://...).
	// Zero with Memory false: the token store's Redis if it is one, else memory.
	Redis redisurl.Spec
}

// String renders the spec without secrets.
func (d DedupSpec) String() string {
	switch {
	case d.Memory:
		return "memory"
	case !d.Redis.IsZero():
		return d.Redis.String()
	}
	return "auto"
}

func (l *loader) dedupStore(key string) DedupSpec {
	v := l.str(key, "")
	switch {
	case v == "":
		return DedupSpec{}
	case v == "memory":
		return DedupSpec{Memory: true}
	case strings.HasPrefix(v, "redis://"), strings.HasPrefix(v, "rediss://"):
		r, err := redisurl.Parse(v)
		if err != nil {
			l.fail(key, "redis URL %v (value not shown)", err)
		}
		return DedupSpec{Redis: r}
	}
	if err := redisurl.MissingSlashes(v); err != nil {
		l.fail(key, "redis URL %v", err)
		return DedupSpec{}
	}
	l.fail(key, "want empty (the token store's Redis, else memory), memory, or a redis:// / rediss:// URL (value not shown)")
	return DedupSpec{}
}

// byteSize reads a size such as 64MiB, 64MB, 512KiB or a plain number of
// bytes, within [lo, hi].
func (l *loader) byteSize(key, def string, lo, hi int64) int64 {
	v := l.str(key, def)
	n, err := parseBytes(v)
	switch {
	case err != nil:
		l.fail(key, "%q is not a size (e.g. 64MiB, 256MB, 1048576)", echo(v))
	case n < lo || n > hi:
		l.fail(key, "%s must be between %s and %s", v, formatBytes(lo), formatBytes(hi))
	}
	return n
}

var byteUnits = []struct {
	suffix string
	n      int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
}

func parseBytes(v string) (int64, error) {
	mult := int64(1)
	for _, u := range byteUnits {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(s), u.n
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size")
	}
	return n * mult, nil
}

func formatBytes(n int64) string {
	for _, u := range byteUnits[:3] {
		if n >= u.n && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// redactUserinfo hides everything between "://" and the last "@", for
// echoing a value that failed to parse as a URL. It over-redacts an "@" in a
// path on purpose: a password may hold "/" or "?" itself.
func redactUserinfo(v string) string {
	at := strings.LastIndex(v, "@")
	if at < 0 {
		return v
	}
	start := strings.Index(v, "://")
	if start < 0 || start+3 > at {
		return "[REDACTED]" + v[at:]
	}
	return v[:start+3] + "[REDACTED]" + v[at:]
}
