package token

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// specForms names the accepted store specs in errors.
const specForms = `"memory", "file:PATH" or "redis://[user:pass@]host:port/db"`

var validName = regexp.MustCompile(`^[a-z0-9_]+$`)

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// Open builds the store a spec names, wrapped in NewCachedStore:
//
//	memory                          this process only
//	file:PATH                       a JSON file shared by processes on one host
//	redis://[user:pass@]host:port/db  a Redis shared by hosts
//
// name picks the token kind: "access_token" uses PATH itself and the key
// "wxoa:access_token"; any other name (e.g. "jsapi_ticket") uses
// dir(PATH)/<name>.json and the key "wxoa:<name>". The io.Closer releases
// the Redis connection pool; close it after the Manager.
func Open(spec, name string, logger *slog.Logger) (Store, io.Closer, error) {
	if !validName.MatchString(name) {
		return nil, nil, fmt.Errorf("token store: invalid name %q (want lower-case letters, digits, _)", name)
	}
	if logger == nil {
		logger = discard()
	}
	switch {
	case spec == "memory":
		return NewCachedStore(NewMemoryStore()), nopCloser{}, nil
	case strings.HasPrefix(spec, "file:"):
		path := strings.TrimPrefix(spec, "file:")
		if path == "" || strings.HasSuffix(path, "/") {
			return nil, nil, fmt.Errorf("token store: file: needs a file path, as in file:/var/lib/wxoa/access_token.json")
		}
		if name != "access_token" {
			path = filepath.Join(filepath.Dir(path), name+".json")
		}
		s, err := NewFileStore(path, logger)
		if err != nil {
			return nil, nil, err
		}
		return NewCachedStore(s), nopCloser{}, nil
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			// *url.Error quotes the whole URL, password included.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, nil, fmt.Errorf("token store: invalid redis URL (want %s): %w", specForms, err)
		}
		c := redis.NewClient(opts)
		return NewCachedStore(NewRedisStore(c, "wxoa:"+name, logger)), c, nil
	}
	// Echo at most a scheme: the rest of a mistyped spec may be a password.
	if scheme, _, ok := strings.Cut(spec, ":"); ok && validName.MatchString(scheme) && len(scheme) <= 10 {
		return nil, nil, fmt.Errorf("token store: unsupported scheme %q: want %s", scheme, specForms)
	}
	return nil, nil, fmt.Errorf("token store: unsupported spec: want %s", specForms)
}
