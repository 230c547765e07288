package tunnel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
)

// redacted replaces the authtoken, as wechat.Secret prints itself.
const redacted = "[REDACTED]"

// scrub replaces every occurrence of secret in s.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

// scrubError returns err unchanged when its text does not contain secret,
// keeping its identity for errors.Is and As; otherwise an error with the
// scrubbed text that keeps err's net.Error behaviour (http.Server retries
// temporary Accept errors) and its ngrok error code, but not err itself,
// since unwrapping would give the secret back.
func scrubError(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	s := &scrubbedError{msg: scrub(err.Error(), secret)}
	var ne net.Error
	if errors.As(err, &ne) {
		s.timeout = ne.Timeout()
		s.temporary = ne.Temporary() //nolint:staticcheck // http.Server still asks
	}
	var coded interface{ Code() string }
	if errors.As(err, &coded) {
		s.code = coded.Code()
	}
	return s
}

// scrubbedError is an error whose text had a secret removed.
type scrubbedError struct {
	msg                string
	timeout, temporary bool
	code               string
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Timeout() bool   { return e.timeout }
func (e *scrubbedError) Temporary() bool { return e.temporary }

// Code returns the ngrok error code (e.g. "ERR_NGROK_105"), as ngrok.Error
// does, or "".
func (e *scrubbedError) Code() string { return e.code }

// scrubLogger returns log with secret replaced wherever it shows: message,
// keys, string values, errors, and any value whose text or JSON holds it.
func scrubLogger(log *slog.Logger, secret string) *slog.Logger {
	return slog.New(scrubHandler{h: log.Handler(), secret: secret})
}

// scrubHandler is the slog.Handler behind scrubLogger. It wraps the
// caller's handler, so JSON stays JSON.
type scrubHandler struct {
	h      slog.Handler
	secret string
}

func (s scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrub(r.Message, s.secret), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(s.attr(a))
		return true
	})
	return s.h.Handle(ctx, out)
}

func (s scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = s.attr(a)
	}
	return scrubHandler{h: s.h.WithAttrs(clean), secret: s.secret}
}

func (s scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h: s.h.WithGroup(scrub(name, s.secret)), secret: s.secret}
}

func (s scrubHandler) attr(a slog.Attr) slog.Attr {
	a.Key = scrub(a.Key, s.secret)
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(scrub(a.Value.String(), s.secret))
	case slog.KindGroup:
		g := a.Value.Group()
		clean := make([]slog.Attr, len(g))
		for i, ga := range g {
			clean[i] = s.attr(ga)
		}
		a.Value = slog.GroupValue(clean...)
	case slog.KindAny:
		if text, leaks := s.leaks(a.Value.Any()); leaks {
			a.Value = slog.StringValue(scrub(text, s.secret))
		}
	}
	return a
}

// leaks reports whether v would print the secret, through fmt (the text
// handler) or encoding/json (the JSON handler), and returns its text.
func (s scrubHandler) leaks(v any) (string, bool) {
	var text string
	switch v := v.(type) {
	case error:
		text = v.Error()
	case []byte:
		text = string(v)
	default:
		text = fmt.Sprintf("%+v", v)
	}
	if strings.Contains(text, s.secret) {
		return text, true
	}
	j, err := json.Marshal(v)
	return text, err == nil && bytes.Contains(j, []byte(s.secret))
}
