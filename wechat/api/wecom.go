package api

import (
	"errors"
	"net/http"
	"net/url"
)

const pathGetToken = "/cgi-bin/gettoken"

// weComTokenRequest asks WeCom for the application's access_token with
// GET /cgi-bin/gettoken?corpid=&corpsecret=. WeCom hands back the token the
// application holds while it is valid, so there is nothing to force: a
// rejected token is replaced by the next one WeCom issues. Each application
// of a corp has its own secret, and so its own token.
// https://developer.work.weixin.qq.com/document/path/91039
func (c *Client) weComTokenRequest() (request, error) {
	if c.cfg.AppID == "" || c.cfg.AppSecret.Empty() {
		return request{}, errors.New("wecom api: corp id and the application's secret are required to fetch an access_token")
	}
	return request{method: http.MethodGet, path: pathGetToken, plain: true, query: url.Values{
		"corpid":     {c.cfg.AppID},
		"corpsecret": {c.cfg.AppSecret.Reveal()},
	}}, nil
}
