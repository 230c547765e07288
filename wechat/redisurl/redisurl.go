// Package redisurl turns a Redis URL into a go-redis client for the three
// ways teams run Redis — a single node, Sentinel, Cluster — using go-redis's
// own parsers, and keeps the password out of every error and printed form.
//
//	redis://[user:pass@]host:port/db[?dial_timeout=1s...]             one node
//	redis://[user:pass@]sentinel:26379/db?master_name=M[&addr=s2:26379]  Sentinel
//	redis://[user:pass@]host1:port?addr=host2:port&addr=host3:port    Cluster
//
// rediss:// turns on TLS for each. A URL with master_name is Sentinel; one
// with addr= and no master_name is a Cluster (list several seed nodes).
package redisurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/wechat"
)

// Topology is how the Redis is run.
type Topology string

// Topologies a URL can name.
const (
	Single   Topology = "single"
	Sentinel Topology = "sentinel"
	Cluster  Topology = "cluster"
)

// Defaults applied where the URL sets no timeout: go-redis's own (5 s dial,
// 3 s read, retries) would stall every request for seconds while Redis is
// unreachable. Callers serve from memory meanwhile, so failing fast is right.
const (
	DefaultDialTimeout = time.Second
	DefaultIOTimeout   = time.Second
	DefaultMaxRetries  = 1
)

// Spec is a parsed Redis URL. Its zero value is not usable; build it with
// Parse. It prints (String, LogValue-friendly) without the password.
type Spec struct {
	topology Topology
	display  string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// Parse checks raw with the go-redis parser for its topology. Errors never
// contain the URL or its password.
func Parse(raw string) (Spec, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Spec{}, errors.New("cannot be parsed as a URL: percent-encode special characters in the password")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return Spec{}, errors.New("scheme must be redis:// or rediss://")
	}
	if u.Hostname() == "" {
		return Spec{}, errors.New("has no host")
	}
	if u.Fragment != "" {
		return Spec{}, errors.New("must not have a #fragment")
	}
	s := Spec{display: redact(u)}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		if q.Get("master_name") == "" {
			return Spec{}, errors.New("master_name is empty")
		}
		s.topology = Sentinel
		s.failover, err = redis.ParseFailoverURL(raw)
	case q.Has("addr"):
		s.topology = Cluster
		if db := strings.Trim(u.Path, "/"); db != "" && db != "0" || q.Has("db") {
			return Spec{}, errors.New("a Cluster URL (several addr=) has no database number: Redis Cluster only has db 0")
		}
		c := *u
		c.Path = "" // ParseClusterURL takes no path
		s.cluster, err = redis.ParseClusterURL(c.String())
	default:
		s.topology = Single
		s.single, err = redis.ParseURL(raw)
	}
	if err != nil {
		return Spec{}, scrub(err, u)
	}
	s.applyDefaults()
	return s, nil
}

// MissingSlashes reports raw if it is a Redis URL but for the "//" after
// its scheme ("redis:/host", "rediss:host:6380"), a typo url.Parse takes
// for a URL with a path and no host. Its error says what raw probably
// meant, printed as String would (user and password hidden) and without
// the query, where any value may be a password.
func MissingSlashes(raw string) error {
	for _, scheme := range []string{"redis:", "rediss:"} {
		rest, ok := strings.CutPrefix(raw, scheme)
		if !ok || strings.HasPrefix(rest, "//") || strings.Trim(rest, "/") == "" {
			continue
		}
		u, err := url.Parse(scheme + "//" + strings.TrimLeft(rest, "/"))
		if err != nil || u.Host == "" {
			return fmt.Errorf("has no \"//\" after %q: want %s//HOST:PORT/DB", scheme, scheme)
		}
		meant := scheme + "//"
		if u.User != nil {
			meant += "xxxxx@"
		}
		meant += u.Host + u.EscapedPath()
		if u.RawQuery != "" {
			meant += "?..."
		}
		return fmt.Errorf("has no \"//\" after %q: did you mean %s?", scheme, meant)
	}
	return nil
}

// MustParse is Parse for tests and constants; it panics on error.
func MustParse(raw string) Spec {
	s, err := Parse(raw)
	if err != nil {
		panic("redisurl: " + err.Error())
	}
	return s
}

// Topology reports how the Redis is run.
func (s Spec) Topology() Topology { return s.topology }

// IsZero reports whether s was never parsed.
func (s Spec) IsZero() bool { return s.topology == "" }

// String is the URL with the password (and any password= query value)
// replaced by "xxxxx".
func (s Spec) String() string { return s.display }

// NewClient returns a client for the spec; close it when done.
func (s Spec) NewClient() redis.UniversalClient {
	switch s.topology {
	case Sentinel:
		o := *s.failover
		return redis.NewFailoverClient(&o)
	case Cluster:
		o := *s.cluster
		return redis.NewClusterClient(&o)
	case Single:
		o := *s.single
		return redis.NewClient(&o)
	}
	panic("redisurl: NewClient on a zero Spec")
}

func (s *Spec) applyDefaults() {
	switch {
	case s.single != nil:
		o := s.single
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.DialerRetries)
		resp2(&o.Protocol)
		o.ContextTimeoutEnabled = true
	case s.failover != nil:
		o := s.failover
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.DialerRetries)
		resp2(&o.Protocol)
		o.ContextTimeoutEnabled = true
	case s.cluster != nil:
		o := s.cluster
		failFast(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.DialerRetries)
		resp2(&o.Protocol)
		o.ContextTimeoutEnabled = true
	}
}

// resp2 speaks RESP2 unless the URL asked for a protocol (protocol=3).
// go-redis defaults to RESP3, whose push notifications it looks for before
// every reply it reads: measurable on the dedup's pipelines, for a
// feature (server-assisted client caching) nothing here uses.
func resp2(protocol *int) {
	if *protocol == 0 {
		*protocol = 2
	}
}

// failFast fills the settings the URL left unset. go-redis redials five
// times per connection by default; once is enough when the caller has a
// token in memory and retries on its own schedule.
func failFast(dial, read, write *time.Duration, retries, dialRetries *int) {
	if *dial == 0 {
		*dial = DefaultDialTimeout
	}
	if *read == 0 {
		*read = DefaultIOTimeout
	}
	if *write == 0 {
		*write = DefaultIOTimeout
	}
	if *retries == 0 {
		*retries = DefaultMaxRetries
	}
	if *dialRetries == 0 {
		*dialRetries = 1
	}
}

// Ping checks that the server answers within timeout.
func Ping(ctx context.Context, c redis.UniversalClient, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.Ping(ctx).Err()
}

// redact renders u with every password masked.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		}
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, "xxxxx")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// scrub returns err's text without the URL's secrets: go-redis's messages
// quote option values ("invalid duration \"...\"") and, through
// *url.Error, whole URLs. Any value may be a password pasted in the wrong
// place, so neither the password nor any query value is shown; option
// names are (a misspelt one is the usual mistake).
func scrub(err error, u *url.URL) error {
	msg := wechat.StripURL(err).Error()
	var secrets []string
	hide := func(v string) {
		if v != "" {
			secrets = append(secrets, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	if u.User != nil {
		p, _ := u.User.Password()
		hide(p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			hide(v)
		}
	}
	// Longest first, so that a value containing another is hidden whole;
	// only where it stands alone, so that a value such as "red" leaves
	// "redis" alone.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		re := regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(sec) + `($|[^A-Za-z0-9])`)
		msg = re.ReplaceAllString(msg, "${1}xxxxx${2}")
	}
	return fmt.Errorf("%s", strings.TrimPrefix(msg, "redis: "))
}
