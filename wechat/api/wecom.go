package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"wxoa/wechat/token"
)

const pathGetToken = "/cgi-bin/gettoken"

// fetchWeComToken asks WeCom for the application's access_token with GET
// /cgi-bin/gettoken?corpid=&corpsecret=. WeCom hands back the token the
// application holds while it is valid, so there is nothing to force: a
// rejected token is replaced by the next one WeCom issues. Each application
// of a corp has its own secret, and so its own token.
// https://developer.work.weixin.qq.com/document/path/91039
func (c *Client) fetchWeComToken(ctx context.Context) (token.Token, error) {
	if c.cfg.AppID == "" || c.cfg.AppSecret.Empty() {
		return token.Token{}, errors.New("wecom api: corp id and the application's secret are required to fetch an access_token")
	}
	req := request{method: http.MethodGet, path: pathGetToken, plain: true, query: url.Values{
		"corpid":     {c.cfg.AppID},
		"corpsecret": {c.cfg.AppSecret.Reveal()},
	}}
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
