// Package sdk wires github.com/silenceper/wechat/v2 to the managed token: the
// SDK's officialaccount asks our token manager for its access_token, and its
// HTTP calls go through a Transport that points them at WECHAT_API_BASE and
// answers a 40001/40014/42001 with one compare-and-refresh and one retry.
package sdk

import (
	"context"
	"errors"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"

	"wxoa/wechat"
)

// TokenSource is what the SDK needs from the token manager.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Handle is the SDK's access-token handle backed by a TokenSource, so the SDK
// never fetches a token itself (which would invalidate the shared one).
type Handle struct{ Source TokenSource }

var _ credential.AccessTokenContextHandle = Handle{}

// GetAccessToken serves SDK calls that carry no context.
func (h Handle) GetAccessToken() (string, error) {
	return h.GetAccessTokenContext(context.Background())
}

// GetAccessTokenContext serves SDK calls that carry a context.
func (h Handle) GetAccessTokenContext(ctx context.Context) (string, error) {
	return h.Source.Token(ctx)
}

// NewOfficialAccount returns the SDK's officialaccount with its token handle
// replaced by src. The SDK's own memory cache is never used for tokens.
func NewOfficialAccount(appID string, secret wechat.Secret, src TokenSource) *officialaccount.OfficialAccount {
	// The SDK panics without a cache, though with our handle it never uses it.
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{AppID: appID, AppSecret: secret.Reveal(), Cache: cache.NewMemory()})
	oa.SetAccessTokenHandle(Handle{Source: src})
	return oa
}

var (
	secretInURL = regexp.MustCompile(`((?:access_token|secret|ticket)=)[^&\s"']+`)
	sdkErrcode  = regexp.MustCompile(`errcode\s*[=:]\s*(-?\d+)\s*,?\s*errmsg\s*[=:]\s*(.*)$`)
)

// Redact hides the values of access_token=, secret= and ticket= in s: the
// SDK's errors (and Go's *url.Error) print whole URLs.
func Redact(s string) string { return secretInURL.ReplaceAllString(s, "${1}[REDACTED]") }

// Error turns an error returned by an SDK call into one this project can
// log and branch on: URLs redacted, and "errcode=N, errmsg=..." parsed into a
// *wechat.APIError so errors.Is works with the wechat sentinels.
func Error(endpoint string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *wechat.APIError
	if errors.As(err, &apiErr) {
		return err
	}
	msg := Redact(err.Error())
	if m := sdkErrcode.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &wechat.APIError{Code: code, Msg: m[2], Endpoint: endpoint}
	}
	return &redactedError{msg: "wechat " + endpoint + ": " + msg, err: err}
}

// redactedError keeps the original for errors.Is/As (timeouts, context
// cancellation) while printing only the redacted text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
