package config

import (
	"net/url"
	"strconv"
	"strings"

	"wxoa/wechat"
)

// StoreKind names where access tokens are kept.
type StoreKind string

// Store kinds accepted in TOKEN_STORE.
const (
	StoreMemory StoreKind = "memory" // this process only
	StoreFile   StoreKind = "file"   // one host, shared through a locked file
	StoreRedis  StoreKind = "redis"  // a cluster, shared through Redis
)

// StoreSpec is a parsed TOKEN_STORE. Only the fields of its Kind are set.
type StoreSpec struct {
	Kind StoreKind
	Path string // file: path of the token file

	Addr     string        // redis: host:port
	Username string        // redis: ACL user, may be empty
	Password wechat.Secret // redis: may be empty
	DB       int           // redis: database number
	TLS      bool          // redis: rediss:// scheme
}

// String renders the spec for logs, with any password redacted.
func (s StoreSpec) String() string { return s.render(false) }

// Spec returns the store spec in token.Open's form, password included:
// hand it to the store and never print it (String is the printable form).
func (s StoreSpec) Spec() string { return s.render(true) }

func (s StoreSpec) render(withPassword bool) string {
	switch s.Kind {
	case StoreFile:
		return "file:" + s.Path
	case StoreRedis:
		u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/" + strconv.Itoa(s.DB)}
		if s.TLS {
			u.Scheme = "rediss"
		}
		switch {
		case !s.Password.Empty() && withPassword:
			u.User = url.UserPassword(s.Username, s.Password.Reveal())
		case !s.Password.Empty():
			u.User = url.UserPassword(s.Username, "xxxxx")
		case s.Username != "":
			u.User = url.User(s.Username)
		}
		return u.String()
	default:
		return string(s.Kind)
	}
}

const storeForms = "memory, file:PATH or redis://[user:pass@]host:port/db"

func (l *loader) store(key, def string) StoreSpec {
	v := l.str(key, def)
	switch {
	case v == string(StoreMemory):
		return StoreSpec{Kind: StoreMemory}
	case strings.HasPrefix(v, "file:"):
		path := strings.TrimPrefix(v, "file:")
		if path == "" || strings.HasPrefix(path, "//") {
			l.fail(key, "%q: want file:PATH (e.g. file:data/access_token.json or file:/var/lib/wxoa/token.json), not a file:// URL", v)
		}
		return StoreSpec{Kind: StoreFile, Path: path}
	case strings.HasPrefix(v, "redis://"), strings.HasPrefix(v, "rediss://"):
		spec, problem := parseRedis(v)
		if problem != "" {
			l.fail(key, "redis URL %s; want redis://[user:pass@]host:port/db (value not shown)", problem)
		}
		return spec
	default:
		l.fail(key, "%q is not one of %s", redactUserinfo(v), storeForms)
		return StoreSpec{}
	}
}

// parseRedis returns what is wrong in words of its own: url.Parse errors
// quote the URL, password included, so they are never passed on.
func parseRedis(v string) (StoreSpec, string) {
	u, err := url.Parse(v)
	if err != nil {
		return StoreSpec{}, "cannot be parsed, percent-encode special characters in the password"
	}
	spec := StoreSpec{Kind: StoreRedis, TLS: u.Scheme == "rediss"}
	if u.Hostname() == "" {
		return spec, "has no host"
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return spec, "has a bad port"
	}
	spec.Addr = u.Hostname() + ":" + port
	if strings.Contains(u.Hostname(), ":") {
		spec.Addr = "[" + u.Hostname() + "]:" + port
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return spec, "must not carry a query or fragment"
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return spec, "has a bad database number (want /0, /1, ...)"
		}
		spec.DB = n
	}
	if u.User != nil {
		spec.Username = u.User.Username()
		pw, _ := u.User.Password()
		spec.Password = wechat.Secret(pw)
	}
	return spec, ""
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
