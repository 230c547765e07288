package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

// Refresher replaces a token that WeChat rejected, unless another caller has
// already done so (compare-and-refresh).
type Refresher interface {
	RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error)
}

// maxInspect bounds how much of a JSON answer is buffered to look for an
// errcode; larger answers (media downloads) pass through untouched.
const maxInspect = 1 << 20

// Transport is the RoundTripper behind every active call (the SDK's and our
// own). It rewrites requests for api.weixin.qq.com to APIBase (a backup
// domain, a proxy or a local fake), and when an answer says the
// access_token in the query was invalid or expired it asks Refresher for a
// new one with the token it used and retries once, never more.
type Transport struct {
	Base      http.RoundTripper // nil: http.DefaultTransport
	APIBase   *url.URL          // nil: no rewrite
	Refresher Refresher         // nil: no retry
	Logger    *slog.Logger      // nil: no logs
}

const officialHost = "api.weixin.qq.com"

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = t.rewrite(req)
	resp, err := t.base().RoundTrip(req)
	if err != nil || t.Refresher == nil || resp.StatusCode != http.StatusOK || !isJSONish(resp) {
		return resp, err
	}
	used := req.URL.Query().Get("access_token")
	if used == "" {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInspect+1))
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	if len(body) > maxInspect {
		// Too large to be an errcode answer: hand it on whole, the part
		// already read first.
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if !errors.Is(wechat.CheckResponse(req.URL.Path, body), wechat.ErrTokenInvalid) {
		return resp, nil
	}
	fresh, err := t.Refresher.RefreshIfCurrent(req.Context(), used)
	if err != nil {
		t.log(req, "refresh after a rejected token failed", err)
		return resp, nil
	}
	if fresh.Value.Reveal() == used {
		return resp, nil
	}
	retry, err := withToken(req, fresh.Value.Reveal())
	if err != nil {
		t.log(req, "cannot replay the request", err)
		return resp, nil
	}
	return t.base().RoundTrip(retry)
}

type readCloser struct {
	io.Reader
	io.Closer
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

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

func withToken(req *http.Request, tok string) (*http.Request, error) {
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
	u := *r.URL
	q := u.Query()
	q.Set("access_token", tok)
	u.RawQuery = q.Encode()
	r.URL = &u
	return r, nil
}

func isJSONish(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	return ct == "" || strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/")
}

func (t *Transport) log(req *http.Request, msg string, err error) {
	if t.Logger != nil {
		t.Logger.WarnContext(req.Context(), msg, "path", req.URL.Path, "err", Redact(err.Error()))
	}
}
