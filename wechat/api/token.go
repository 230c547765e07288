package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

const (
	pathToken       = "/cgi-bin/token"
	pathStableToken = "/cgi-bin/stable_token"
	pathTicket      = "/cgi-bin/ticket/getticket"
	pathAPIDomainIP = "/cgi-bin/get_api_domain_ip"
)

// maxExpiresIn rejects absurd lifetimes before they overflow a Duration;
// WeChat's are at most 7200 s.
const maxExpiresIn = 366 * 24 * 3600

// FetchAccessToken asks WeChat for an access_token, through /cgi-bin/token
// (classic mode; force is ignored) or /cgi-bin/stable_token (stable mode;
// force sets force_refresh, which WeChat limits to 20 a day).
// ExpiresAt comes from the answer's expires_in, counted from before the
// request so that it errs early.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html
//
// A WeCom client asks GET /cgi-bin/gettoken instead (weComTokenRequest).
func (c *Client) FetchAccessToken(ctx context.Context, force bool) (token.Token, error) {
	req, err := c.tokenRequest(force)
	if err != nil {
		return token.Token{}, err
	}
	start := c.now()
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.call(ctx, req, &r); err != nil {
		return token.Token{}, err
	}
	return newToken(req.path, "access_token", r.AccessToken, r.ExpiresIn, start)
}

// tokenRequest is the request for an access_token in the client's
// platform and mode.
func (c *Client) tokenRequest(force bool) (request, error) {
	if c.cfg.Platform == wechat.PlatformWeCom {
		return c.weComTokenRequest()
	}
	if c.cfg.AppID == "" || c.cfg.AppSecret.Empty() {
		return request{}, errors.New("wechat api: appid and app secret are required to fetch an access_token")
	}
	if c.cfg.Mode != ModeStable {
		return request{method: http.MethodGet, path: pathToken, plain: true, query: url.Values{
			"grant_type": {"client_credential"},
			"appid":      {c.cfg.AppID},
			"secret":     {c.cfg.AppSecret.Reveal()},
		}}, nil
	}
	body, err := json.Marshal(struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", c.cfg.AppID, c.cfg.AppSecret.Reveal(), force})
	if err != nil {
		return request{}, fmt.Errorf("wechat %s: encode request: %w", pathStableToken, err)
	}
	// A retried force may refresh twice; WeChat ignores forces within 30 s
	// of each other, so the retry is still safe.
	return request{method: http.MethodPost, path: pathStableToken, body: body, idempotent: true, plain: true}, nil
}

// AccessTokenFetcher adapts FetchAccessToken to token.Fetcher.
func (c *Client) AccessTokenFetcher() token.Fetcher { return token.FetcherFunc(c.FetchAccessToken) }

// FetchJSAPITicket asks for a jsapi_ticket, which signs JS-SDK pages, with
// the access_token the client carries (Config.Tokens).
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func (c *Client) FetchJSAPITicket(ctx context.Context) (token.Token, error) {
	var r struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int64  `json:"expires_in"`
	}
	start := c.now()
	if err := c.Do(ctx, http.MethodGet, pathTicket+"?type=jsapi", nil, &r); err != nil {
		return token.Token{}, err
	}
	return newToken(pathTicket, "ticket", r.Ticket, r.ExpiresIn, start)
}

// JSAPITicketFetcher adapts FetchJSAPITicket to token.Fetcher.
func (c *Client) JSAPITicketFetcher() token.Fetcher {
	return token.FetcherFunc(func(ctx context.Context, _ bool) (token.Token, error) { return c.FetchJSAPITicket(ctx) })
}

// CheckAccessToken asks WeChat whether accessToken is still accepted, by
// calling get_api_domain_ip: it needs only the token, changes nothing and
// answers a few hundred bytes. It returns nil when WeChat accepts the token
// and an error matching wechat.ErrTokenInvalid when WeChat says it is
// invalid, expired or no longer the latest (40001, 40014, 42001; WeCom's
// 40014, 42001); other errors (busy after the retries, HTTP, network) mean
// the token's state is unknown. The client's Refresher is not asked: it
// would answer a rejection by replacing the very token being checked.
//
// The same endpoint serves every kind of account. Official Accounts:
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_the_WeChat_server_IP_address.html
// Mini Programs: the endpoint's page lists 小程序 among the accounts that may
// call it (适用范围), with the same access_token; no Mini Program API is
// cheaper or freer of side effects:
// https://developers.weixin.qq.com/doc/service/api/base/api_getapidomainip.html
// WeCom has its own at the same path, which also answers errcode 0:
// https://developer.work.weixin.qq.com/document/path/92520
func (c *Client) CheckAccessToken(ctx context.Context, accessToken string) error {
	req, err := newCallWith(http.MethodGet, pathAPIDomainIP, accessToken, nil)
	if err != nil {
		return err
	}
	req.plain = true
	var r struct {
		IPList []string `json:"ip_list"`
	}
	if err := c.call(ctx, req, &r); err != nil {
		return err
	}
	// An answer without the list is not WeChat's (a proxy's or a wrong base
	// URL's), and proves nothing about the token.
	if len(r.IPList) == 0 {
		return fmt.Errorf("wechat %s: response has no ip_list", pathAPIDomainIP)
	}
	return nil
}

func newToken(path, field, value string, expiresIn int64, start time.Time) (token.Token, error) {
	if value == "" {
		return token.Token{}, fmt.Errorf("wechat %s: response has no %s", path, field)
	}
	if expiresIn <= 0 || expiresIn > maxExpiresIn {
		return token.Token{}, fmt.Errorf("wechat %s: response has expires_in %d; want 1..%d", path, expiresIn, maxExpiresIn)
	}
	return token.Token{
		Value:     wechat.Secret(value),
		ExpiresAt: start.Add(time.Duration(expiresIn) * time.Second),
		FetchedAt: start,
	}, nil
}

// Do makes an authenticated JSON call with the access_token the client
// carries (Config.Tokens): path (which may carry its own query, e.g.
// "/cgi-bin/menu/get" or "/cgi-bin/ticket/getticket?type=jsapi") gets
// ?access_token=, in (if not nil) is sent as JSON, and the answer is decoded
// into out (if not nil). A non-zero errcode is a *wechat.APIError. A rejected
// token is refreshed and the call retried once (Transport). Only GET calls
// retry network errors and 5xx; a POST might have taken effect (a customer
// message sent twice), so it retries errcode -1 only.
// https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if c.cfg.Tokens == nil {
		endpoint, _, _ := strings.Cut(path, "?")
		return fmt.Errorf("wechat %s: this client carries no access_token (Config.Tokens)", endpoint)
	}
	req, err := newCall(method, path, "", in)
	if err != nil {
		return err
	}
	return c.call(ctx, req, out)
}

// DoWith is Do with the given access_token instead of one from
// Config.Tokens. A rejected token is still refreshed through Refresher, if
// set, and the call retried once.
func (c *Client) DoWith(ctx context.Context, method, path, accessToken string, in, out any) error {
	req, err := newCallWith(method, path, accessToken, in)
	if err != nil {
		return err
	}
	return c.call(ctx, req, out)
}

// newCall builds the request of a JSON call: path (with any query of its
// own) gets ?access_token= if accessToken is set, and in, if not nil, is the
// JSON body.
func newCall(method, path, accessToken string, in any) (request, error) {
	endpoint, rawQuery, _ := strings.Cut(path, "?")
	if !strings.HasPrefix(endpoint, "/") {
		return request{}, fmt.Errorf("wechat api: path %q must start with /", endpoint)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return request{}, fmt.Errorf("wechat %s: query: %w", endpoint, err)
	}
	if accessToken != "" {
		q.Set("access_token", accessToken)
	}
	req := request{method: method, path: endpoint, query: q}
	if in != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // WeChat shows text as sent: keep "<a href>" and "&" readable
		if err := enc.Encode(in); err != nil {
			return request{}, fmt.Errorf("wechat %s: encode request: %w", endpoint, err)
		}
		req.body = buf.Bytes()
	}
	return req, nil
}

// newCallWith is newCall with an access_token, which must be set.
func newCallWith(method, path, accessToken string, in any) (request, error) {
	if accessToken == "" {
		endpoint, _, _ := strings.Cut(path, "?")
		return request{}, fmt.Errorf("wechat %s: access_token is empty", endpoint)
	}
	return newCall(method, path, accessToken, in)
}

// call sends req and decodes the answer into out (if not nil).
func (c *Client) call(ctx context.Context, req request, out any) error {
	raw, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("wechat %s: decode response: %w", req.path, err)
		}
	}
	return nil
}
