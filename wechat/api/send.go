package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"wxoa/wechat"
)

// request is one logical call, made in one or more attempts.
type request struct {
	method string
	path   string     // endpoint path; the only part of the URL errors name
	query  url.Values // carries secret= or access_token=: never printed
	body   []byte     // nil: no body
	// idempotent allows retrying network errors and 5xx, after which the
	// first attempt may have taken effect. Errcode -1 is always retried:
	// WeChat did not act on the call.
	idempotent bool
}

var errTooLarge = fmt.Errorf("response larger than %d bytes", maxBody)

// send makes req, retrying transient failures with exponential backoff and
// full jitter. It never sleeps past ctx's deadline: when the next wait would
// end after it, it returns the last error at once.
func (c *Client) send(ctx context.Context, req request) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, retry, err := c.attempt(ctx, req)
		if err == nil {
			return body, nil
		}
		if !retry || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return nil, err
		}
		wait := c.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			c.log.Warn("wechat call failed; no time left to retry", "endpoint", req.path, "attempt", attempt, "err", err)
			return nil, err
		}
		c.log.Warn("wechat call failed; retrying", "endpoint", req.path, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// backoff returns the wait after the given failed attempt: a uniformly
// random duration up to Backoff·2^(attempt-1), capped at MaxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.cfg.Backoff
	for i := 1; i < attempt && ceiling < c.cfg.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.cfg.MaxBackoff)
	return time.Duration(c.random() * float64(ceiling))
}

// attempt makes one HTTP exchange and reports whether its failure may be
// retried.
func (c *Client) attempt(ctx context.Context, req request) (body []byte, retry bool, err error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var rb io.Reader
	if req.body != nil {
		rb = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, rb)
	if err != nil {
		return nil, false, fmt.Errorf("wechat %s: %w", req.path, wechat.StripURL(err))
	}
	hr.Header.Set("Accept", "application/json")
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.cfg.HTTP.Do(hr)
	if err != nil {
		return nil, req.idempotent, fmt.Errorf("wechat %s: %w", req.path, wechat.StripURL(err))
	}
	defer resp.Body.Close()
	body, err = readBody(resp.Body)
	if err != nil {
		return nil, req.idempotent && !errors.Is(err, errTooLarge), fmt.Errorf("wechat %s: read response: %w", req.path, wechat.StripURL(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, req.idempotent && resp.StatusCode >= 500, &HTTPError{Endpoint: req.path, StatusCode: resp.StatusCode}
	}
	if err := wechat.CheckResponse(req.path, body); err != nil {
		var ae *wechat.APIError
		return nil, errors.As(err, &ae) && ae.Code == -1, err
	}
	return body, false, nil
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
