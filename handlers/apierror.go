package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/wechat"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/token"
)

// errUnauthorized refuses a request without the right bearer key. It says
// no more than that: which of the two it was helps only a guesser.
var errUnauthorized = errors.New("missing or wrong bearer token")

// inputError is a request the JSON API cannot use; its text, which says
// why, is the answer.
type inputError string

func (e inputError) Error() string { return string(e) }

// tooManyFailuresError refuses a client after too many failed
// authentications, until retryAfter has passed.
type tooManyFailuresError struct{ retryAfter time.Duration }

func (e *tooManyFailuresError) Error() string {
	return "too many failed authentications from this address: retry later"
}

// tokenError marks a token manager's error (the access_token's or the
// jsapi_ticket's). The manager logs each failed attempt once, so
// writeError logs it per caller only at Debug: at Error, one refusal by
// WeChat would be a line per caller.
type tokenError struct{ err error }

func (e tokenError) Error() string { return e.err.Error() }
func (e tokenError) Unwrap() error { return e.err }

// Answers of the 5xx rows: WeChat's errcode and what it means is worth
// telling the caller; a store's address or a stack of wrapped errors is not.
const (
	msgTokenDown = "token unavailable: WeChat or the token store failed (see the server log)"
	msgInternal  = "internal error (see the server log)"
)

// errorStatus maps an error of the JSON API (/api/...) to its status and a
// message safe to show the client, in the manner of benbjohnson/wtf's
// ErrorCode and ErrorMessage: the status says whose fault it is (4xx the
// client's, 502 WeChat refusing us, 503/504 WeChat or our store being
// unreachable), so a client knows whether to fix its request or retry.
func errorStatus(err error) (int, string) {
	var (
		input   inputError
		tooBig  *http.MaxBytesError
		refused *tooManyFailuresError
		apiErr  *wechat.APIError
	)
	switch {
	case errors.As(err, &input):
		return http.StatusBadRequest, string(input)
	case errors.As(err, new(*unknownAccountError)), errors.As(err, new(*noTokenError)), errors.As(err, new(*noJSSDKError)):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, jssdk.ErrBadURL):
		return http.StatusBadRequest, err.Error()
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "body larger than " + sizeText(tooBig.Limit)
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, err.Error()
	case errors.As(err, &refused):
		return http.StatusTooManyRequests, refused.Error()
	case errors.Is(err, token.ErrRateLimited):
		return http.StatusTooManyRequests, "forced refresh rate-limited: retry later"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "token unavailable: timed out waiting for WeChat"
	case errors.Is(err, wechat.ErrBadCredentials), errors.Is(err, wechat.ErrIPNotWhitelisted),
		errors.Is(err, wechat.ErrQuotaExceeded):
		return http.StatusBadGateway, upstreamText(err)
	case errors.As(err, &apiErr), errors.As(err, new(tokenError)):
		return http.StatusServiceUnavailable, upstreamText(err)
	}
	return http.StatusServiceUnavailable, msgInternal
}

// upstreamText is the answer to WeChat refusing or failing us: its errcode
// and what that means, which tell the caller what to fix, if it has one.
func upstreamText(err error) string {
	var apiErr *wechat.APIError
	if errors.As(err, &apiErr) {
		return "token unavailable: " + apiErr.Error()
	}
	return msgTokenDown
}

// writeError answers a failed JSON API request: errorStatus's status and
// message as {"error": ...}, Retry-After where the error knows when to
// retry, WWW-Authenticate on 401. A 5xx's detail goes only to the log, at
// Debug for a token manager's error (it logged the attempt), at Error for
// anything else, which is our bug. It aborts the handler chain, so
// middleware may use it too.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	status, msg := errorStatus(err)
	if wait, ok := retryIn(err); ok {
		c.Header("Retry-After", retryAfter(wait))
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="wxoa"`)
	}
	if status >= 500 {
		level, what := slog.LevelError, "request failed"
		if errors.As(err, new(tokenError)) {
			level, what = slog.LevelDebug, "token unavailable"
		}
		log.Log(c.Request.Context(), level, what, "path", c.Request.URL.Path, "status", status, "err", err)
	}
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

// retryIn says how long err asks the client to wait, if it does. A
// remembered failure knows best: it is when the manager tries again.
func retryIn(err error) (time.Duration, bool) {
	var (
		re      *token.RememberedError
		rl      *token.RateLimitError
		refused *tooManyFailuresError
	)
	switch {
	case errors.As(err, &re):
		return re.RetryIn, true
	case errors.As(err, &rl):
		return rl.RetryAfter, true
	case errors.Is(err, token.ErrRateLimited):
		return token.DefaultMinForceInterval, true
	case errors.As(err, &refused):
		return refused.retryAfter, true
	}
	return 0, false
}

// retryAfter renders d as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// sizeText renders a body limit: "4 KiB", or bytes when not whole KiB.
func sizeText(n int64) string {
	if n%1024 == 0 {
		return strconv.FormatInt(n/1024, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
