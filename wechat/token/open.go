package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/wechat/redisurl"
)

// Kind names where a token is kept.
type Kind string

// Store kinds.
const (
	KindMemory Kind = "memory" // this process only
	KindFile   Kind = "file"   // one host, shared through a locked file
	KindRedis  Kind = "redis"  // a fleet, shared through Redis
)

// Spec says where tokens are kept. ParseSpec builds it from TOKEN_STORE's
// text once; Open takes it as it is.
type Spec struct {
	Kind  Kind
	Path  string        // KindFile: the access_token's file
	Redis redisurl.Spec // KindRedis
}

// SpecForms names the accepted forms in errors and docs.
const SpecForms = `memory, file:PATH, or a redis:// / rediss:// URL (one node; Sentinel with ?master_name=; Cluster with several addr=)`

// ParseSpec reads a store spec. Its errors never contain a password.
func ParseSpec(s string) (Spec, error) {
	switch {
	case s == string(KindMemory):
		return Spec{Kind: KindMemory}, nil
	case strings.HasPrefix(s, "file:"):
		path := strings.TrimPrefix(s, "file:")
		if path == "" || strings.HasPrefix(path, "//") || strings.HasSuffix(path, "/") {
			return Spec{}, fmt.Errorf("want file:PATH naming a file (e.g. file:data/access_token.json or file:/var/lib/wxoa/access_token.json), not a directory or a file:// URL")
		}
		return Spec{Kind: KindFile, Path: path}, nil
	case strings.HasPrefix(s, "redis://"), strings.HasPrefix(s, "rediss://"):
		r, err := redisurl.Parse(s)
		if err != nil {
			return Spec{}, fmt.Errorf("redis URL %w (value not shown)", err)
		}
		return Spec{Kind: KindRedis, Redis: r}, nil
	}
	if err := redisurl.MissingSlashes(s); err != nil {
		return Spec{}, fmt.Errorf("redis URL %w", err)
	}
	// Echo at most a scheme: the rest of a mistyped spec may be a password.
	if scheme, _, ok := strings.Cut(s, ":"); ok && validName.MatchString(scheme) && len(scheme) <= 10 {
		return Spec{}, fmt.Errorf("unsupported scheme %q: want %s", scheme, SpecForms)
	}
	return Spec{}, fmt.Errorf("unsupported store: want %s", SpecForms)
}

// String renders the spec without secrets.
func (s Spec) String() string {
	switch s.Kind {
	case KindFile:
		return "file:" + s.Path
	case KindRedis:
		return s.Redis.String()
	}
	return string(s.Kind)
}

// Options are what Open needs besides the spec.
type Options struct {
	// Name picks the token kind: "access_token" uses PATH itself; another
	// name (e.g. "jsapi_ticket") uses dir(PATH)/<name>.json.
	Name string
	// AppID namespaces Redis keys, "{wxoa:APPID}:<name>", so accounts can
	// share one Redis; the hash tag keeps a token's keys on one Cluster
	// slot. Several accounts pass their identity (config.Account.Identity).
	AppID string
	// FileTag, if set, puts the token in a file of its own beside PATH:
	// dir(PATH)/<stem of PATH>.<FileTag>.json for access_token, and
	// dir(PATH)/<name>.<FileTag>.json for the others, so that accounts
	// sharing TOKEN_STORE each keep their own file, lock and fetch counter.
	// It must be a valid file name part (FileTagPattern).
	FileTag string
	// Hub, if set, watches the store together with every other store
	// opened with it (see Hub); nil: the store watches by itself.
	Hub *Hub
	// Redis, if set, is the client to use (shared with other stores; the
	// caller closes it). Nil: Open creates one from the spec and returns it
	// as the io.Closer.
	Redis  redis.UniversalClient
	Logger *slog.Logger
}

var validName = regexp.MustCompile(`^[a-z0-9_]+$`)

// FileTagPattern is what Options.FileTag may be: no path separator, no dot
// at the start, nothing a shell or a file system would misread.
var FileTagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$`)

// FilePath is the file a token of name is kept in for spec's PATH and tag
// (see Options.FileTag).
func FilePath(spec Spec, name, tag string) string {
	dir, base := filepath.Dir(spec.Path), filepath.Base(spec.Path)
	stem := name
	if name == "access_token" {
		stem = strings.TrimSuffix(base, ".json")
		if tag == "" {
			return spec.Path
		}
	}
	if tag != "" {
		stem += "." + tag
	}
	return filepath.Join(dir, stem+".json")
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// RedisKey is the Redis key of token name for appid.
func RedisKey(appID, name string) string { return "{wxoa:" + appID + "}:" + name }

// Open builds the store spec names, wrapped in NewCachedStore. The
// io.Closer releases a Redis client Open created; close it after the
// Manager. A Redis that does not answer at start-up is logged as a warning,
// not an error: the Manager serves from memory and WeChat meanwhile.
func Open(spec Spec, o Options) (Store, io.Closer, error) {
	if !validName.MatchString(o.Name) {
		return nil, nil, fmt.Errorf("token store: invalid name %q (want lower-case letters, digits, _)", o.Name)
	}
	log := o.Logger
	if log == nil {
		log = discard()
	}
	switch spec.Kind {
	case KindMemory:
		return NewCachedStore(NewMemoryStore()), nopCloser{}, nil
	case KindFile:
		if o.FileTag != "" && !FileTagPattern.MatchString(o.FileTag) {
			return nil, nil, fmt.Errorf("token store: invalid file tag %q", o.FileTag)
		}
		s, err := NewFileStore(FilePath(spec, o.Name, o.FileTag), log)
		if err != nil {
			return nil, nil, err
		}
		s.(*fileStore).hub = o.Hub
		return NewCachedStore(s), nopCloser{}, nil
	case KindRedis:
		if spec.Redis.IsZero() {
			return nil, nil, errors.New("token store: redis spec without a URL")
		}
		c, closer := o.Redis, io.Closer(nopCloser{})
		if c == nil {
			c = spec.Redis.NewClient()
			closer = c
			if err := redisurl.Ping(context.Background(), c, 2*time.Second); err != nil {
				log.Warn("token store: Redis does not answer at start-up; serving from memory until it does",
					"redis", spec.Redis.String(), "err", err)
			}
		}
		rs := NewRedisStore(c, RedisKey(o.AppID, o.Name), log)
		if o.Hub != nil && o.Hub.redis == c {
			rs.(*redisStore).hub = o.Hub
		}
		return NewCachedStore(rs), closer, nil
	}
	return nil, nil, fmt.Errorf("token store: unknown kind %q", spec.Kind)
}
