package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

// TokenSource hands out the current access_token: the token manager.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Refresher replaces a token that WeChat rejected, unless another caller
// already has (compare-and-refresh): the token manager.
type Refresher interface {
	RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error)
}

// maxBody bounds every answer buffered: the Transport reads its errcode
// from answers up to this size and hands larger ones (media downloads) on
// untouched; the Client reads at most this much and fails beyond. WeChat's
// JSON answers are a few KiB.
const maxBody = 1 << 20

// Defaults for a Transport's (and so a Client's) zero values.
const (
	defaultMaxAttempts = 4
	defaultBackoff     = 200 * time.Millisecond
	defaultMaxBackoff  = 5 * time.Second
)

// Transport is the http.RoundTripper behind every call to WeChat — ours and
// silenceper's SDK's — in the manner of golang.org/x/oauth2's Transport: it
// carries the token, and it is the one place an answer's errcode decides
// what happens next.
//
//   - A request for api.weixin.qq.com goes to APIBase instead (a backup
//     domain, a proxy, a local fake).
//   - A request without ?access_token= gets one from Source, if set.
//   - An answer saying the token it carried is invalid or expired
//     (wechat.ErrTokenInvalid on Platform: WeChat's 40001, 40014, 42001;
//     WeCom's 40014, 42001, not its 40001, a wrong secret) is answered with Refresher's compare-and-refresh
//     and one retry with the new token, never more.
//   - Transient failures are retried with exponential backoff and full
//     jitter, never sleeping past the request's deadline: errcode -1 always
//     (WeChat did not act on the call), network errors and 5xx only for
//     idempotent requests (GET, or a context marked by Idempotent): a POST
//     might have taken effect, and a customer message must not go twice.
//
// Each attempt is bounded by AttemptTimeout; the request's context bounds
// them all. It is safe for concurrent use.
type Transport struct {
	Base           http.RoundTripper // nil: http.DefaultTransport
	APIBase        *url.URL          // nil: no rewrite
	Platform       wechat.Platform   // whose errcodes the answers carry; zero: WeChat's
	Source         TokenSource       // nil: requests go out as they are
	Refresher      Refresher         // nil: a rejected token is not refreshed
	AttemptTimeout time.Duration     // 0: no per-attempt bound
	MaxAttempts    int               // attempts for transient failures; 0: 4
	Backoff        time.Duration     // base of the backoff; 0: 200ms
	MaxBackoff     time.Duration     // cap on one wait; 0: 5s
	Rand           func() float64    // jitter in [0,1); nil: math/rand/v2
	Logger         *slog.Logger      // nil: no logs
}

type idempotentKey struct{}

// Idempotent marks ctx's request as safe to repeat after a network error or
// a 5xx although its method is not GET (stable_token: a repeated refresh
// within 30 s is ignored by WeChat).
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = t.rewrite(req)
	ctx, path := req.Context(), req.URL.Path
	tok := req.URL.Query().Get("access_token")
	if tok == "" && t.Source != nil {
		var err error
		if tok, err = t.Source.Token(ctx); err != nil {
			return nil, fmt.Errorf("wechat %s: access_token: %w", path, err)
		}
		req = withToken(req, tok)
	}
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead || ctx.Value(idempotentKey{}) != nil
	refreshed := false
	for attempt := 1; ; attempt++ {
		resp, code, err := t.attempt(req)
		switch {
		case code.rejected && t.Refresher != nil && tok != "" && !refreshed:
			fresh, rerr := t.Refresher.RefreshIfCurrent(ctx, tok)
			if rerr != nil || fresh.Value.Reveal() == tok {
				if rerr != nil {
					t.warn(ctx, "refresh after a rejected token failed", path, rerr)
				}
				return resp, err
			}
			retry, rerr := replay(req)
			if rerr != nil {
				t.warn(ctx, "cannot replay the request", path, rerr)
				return resp, err
			}
			resp.Body.Close()
			refreshed, tok, req = true, fresh.Value.Reveal(), withToken(retry, fresh.Value.Reveal())
			attempt-- // the token's one retry is not a transient attempt
			continue
		case !code.transient(err, idempotent) || attempt >= t.maxAttempts() || ctx.Err() != nil:
			return resp, err
		}
		retry, rerr := replay(req)
		if rerr != nil {
			return resp, err
		}
		wait := t.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			t.warn(ctx, "wechat call failed; no time left to retry", path, describe(resp, code, err))
			return resp, err
		}
		t.warn(ctx, "wechat call failed; retrying", path, describe(resp, code, err), "attempt", attempt, "wait", wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return resp, err
		case <-timer.C:
		}
		if resp != nil {
			resp.Body.Close()
		}
		req = retry
	}
}

// answer is what an attempt's errcode (or status) says about retrying.
type answer struct {
	status   int
	errcode  int
	rejected bool // the errcode says the token is invalid or expired (wechat.ErrTokenInvalid)
}

func (a answer) transient(err error, idempotent bool) bool {
	switch {
	case a.errcode == -1:
		return true
	case err != nil:
		return idempotent && !errors.Is(err, context.Canceled)
	}
	return idempotent && a.status >= 500
}

// attempt sends req once, within AttemptTimeout, and reads the errcode of a
// JSON answer small enough to buffer. The returned body is readable; a
// failed attempt's error is the transport's (scrubbed by the Client).
func (t *Transport) attempt(req *http.Request) (*http.Response, answer, error) {
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if t.AttemptTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.AttemptTimeout)
	}
	start := time.Now()
	resp, err := t.base().RoundTrip(req.WithContext(ctx))
	if err != nil {
		err = describeFailure(err, time.Since(start), ctx, req.Context(), t.AttemptTimeout)
		cancel()
		return nil, answer{}, err
	}
	a := answer{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK || !isJSONish(resp) {
		resp.Body = cancelOnClose{resp.Body, cancel}
		return resp, a, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		err = describeFailure(err, time.Since(start), ctx, req.Context(), t.AttemptTimeout)
		resp.Body.Close()
		cancel()
		return nil, answer{}, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxBody {
		// Too large to be an errcode answer: hand it on whole, the part
		// already read first.
		resp.Body = cancelOnClose{readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}, cancel}
		return resp, a, nil
	}
	resp.Body.Close()
	cancel()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var ae *wechat.APIError
	if errors.As(t.Platform.CheckResponse(req.URL.Path, body), &ae) {
		a.errcode, a.rejected = ae.Code, errors.Is(ae, wechat.ErrTokenInvalid)
	}
	return resp, a, nil
}

// backoff returns the wait after the given failed attempt: a uniformly
// random duration up to Backoff·2^(attempt-1), capped at MaxBackoff.
func (t *Transport) backoff(attempt int) time.Duration {
	base, ceil := cmp.Or(t.Backoff, defaultBackoff), cmp.Or(t.MaxBackoff, defaultMaxBackoff)
	ceiling := base
	for i := 1; i < attempt && ceiling < ceil; i++ {
		ceiling *= 2
	}
	random := t.Rand
	if random == nil {
		random = rand.Float64
	}
	return time.Duration(random() * float64(min(ceiling, ceil)))
}

func (t *Transport) maxAttempts() int { return cmp.Or(t.MaxAttempts, defaultMaxAttempts) }

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

const officialHost = "api.weixin.qq.com"

func (t *Transport) rewrite(req *http.Request) *http.Request {
	if t.APIBase == nil || req.URL.Host != officialHost {
		return req
	}
	r := req.Clone(req.Context())
	u := *r.URL
	u.Scheme, u.Host = t.APIBase.Scheme, t.APIBase.Host
	u.Path = strings.TrimSuffix(t.APIBase.Path, "/") + u.Path
	u.RawPath = ""
	r.URL, r.Host = &u, ""
	return r
}

// replay returns a copy of req with a fresh body, for another attempt.
func replay(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("request body cannot be replayed")
		}
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	return r, nil
}

// withToken returns req with ?access_token= set to tok.
func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	u := *r.URL
	q := u.Query()
	q.Set("access_token", tok)
	u.RawQuery = q.Encode()
	r.URL = &u
	return r
}

func isJSONish(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	return ct == "" || strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/")
}

type readCloser struct {
	io.Reader
	io.Closer
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// describe is what a failed attempt looked like, for the log: never a URL.
func describe(resp *http.Response, a answer, err error) any {
	switch {
	case err != nil:
		return wechat.StripURL(err)
	case a.errcode != 0:
		return fmt.Sprintf("errcode %d", a.errcode)
	case resp != nil:
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return "?"
}

func (t *Transport) warn(ctx context.Context, msg, path string, detail any, args ...any) {
	if t.Logger != nil {
		t.Logger.WarnContext(ctx, msg, append([]any{"endpoint", path, "err", detail}, args...)...)
	}
}
