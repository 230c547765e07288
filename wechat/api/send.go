package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"wxoa/wechat"
)

// request is one logical call; the Transport makes its attempts.
type request struct {
	method string
	path   string     // endpoint path; the only part of the URL errors name
	query  url.Values // may carry secret= or access_token=: never printed
	body   []byte     // nil: no body
	// idempotent allows the Transport to retry network errors and 5xx for
	// a POST (GET always may).
	idempotent bool
	// plain sends it without Config.Tokens and Refresher: the call fetches
	// or checks the token they manage, and through them would wait for
	// itself (the token manager's refresh runs this very call).
	plain bool
}

var errTooLarge = fmt.Errorf("response larger than %d bytes", maxBody)

// send makes req through the client's Transport and returns the answer's
// body, or the error it stands for: a transport failure, a non-2xx status
// (*HTTPError), or a non-zero errcode (*wechat.APIError).
func (c *Client) send(ctx context.Context, req request) ([]byte, error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var rb io.Reader
	if req.body != nil {
		rb = bytes.NewReader(req.body)
	}
	if req.idempotent {
		ctx = Idempotent(ctx)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, rb)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: %w", req.path, wechat.StripURL(err))
	}
	hr.Header.Set("Accept", "application/json")
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	hc := c.http
	if req.plain {
		hc = c.plain
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: %w", req.path, wechat.StripURL(err))
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: read response: %w", req.path, wechat.StripURL(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Endpoint: req.path, StatusCode: resp.StatusCode}
	}
	if err := c.cfg.Platform.CheckResponse(req.path, body); err != nil {
		return nil, err
	}
	return body, nil
}

// readBody reads at most maxBody bytes, failing on larger answers rather
// than decoding a truncated one.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errTooLarge
	}
	return b, nil
}
