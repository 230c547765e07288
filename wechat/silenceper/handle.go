// Package sdk wires github.com/silenceper/wechat/v2 to the managed token: the
// SDK's officialaccount asks our token manager for its access_token, and its
// HTTP calls go through a Transport that points them at WECHAT_API_BASE and
// answers a 40001/40014/42001 with one compare-and-refresh and one retry.
package silenceper

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	sdkutil "github.com/silenceper/wechat/v2/util"

	"wxoa/wechat"
)

// Use makes client — an api.Client's HTTPClient, whose Transport carries
// the token — the SDK's HTTP client for the whole process.
func Use(client *http.Client) { sdkutil.DefaultHTTPClient = client }

// handle is the SDK's access-token handle. It hands out no token: the SDK
// writes "access_token=" with nothing after it and the Transport under Use's
// client fills in the managed one. So the SDK never fetches a token itself
// (which would invalidate the shared one), never holds one, and its errors
// cannot print one.
type handle struct{}

var _ credential.AccessTokenContextHandle = handle{}

func (handle) GetAccessToken() (string, error)                       { return "", nil }
func (handle) GetAccessTokenContext(context.Context) (string, error) { return "", nil }

// NewOfficialAccount returns the SDK's officialaccount with its token handle
// replaced: its calls get the managed token from the Transport (see Use).
func NewOfficialAccount(appID string, secret wechat.Secret) *officialaccount.OfficialAccount {
	// The SDK panics without a cache, though with our handle it never uses it.
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{AppID: appID, AppSecret: secret.Reveal(), Cache: cache.NewMemory()})
	oa.SetAccessTokenHandle(handle{})
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
