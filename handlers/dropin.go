package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

// The drop-in endpoints answer like api.weixin.qq.com (and, for WeCom,
// qyapi.weixin.qq.com) so that any SDK whose API base points here shares
// the managed token of its account without code changes. They pick the
// account and authenticate the way WeChat does, with appid and secret (corp
// id and corp secret), and never call upstream themselves. A failed
// authentication counts against the client's AuthLimit, which the route's
// gate enforces before we get here.

// classicToken answers GET /cgi-bin/token for an Official Account or a
// Mini Program.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html
func (a *tokenAPI) classicToken(c *gin.Context) {
	q := c.Request.URL.Query()
	acct, code := a.checkClient(q.Get("grant_type"), q.Get("appid"), q.Get("secret"))
	if code != 0 {
		a.refuseClient(c, code)
		return
	}
	t, err := acct.Tokens.Current(c.Request.Context())
	a.answerToken(c, t, err, false)
}

// stableToken answers POST /cgi-bin/stable_token. force_refresh is honoured
// through the manager's rate-limited ForceRefresh: when that declines, the
// caller still gets a valid token.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html
func (a *tokenAPI) stableToken(c *gin.Context) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, 4<<10+1))
	if err != nil || len(body) > 4<<10 || json.Unmarshal(body, &req) != nil {
		wechatError(c, 47001)
		return
	}
	acct, code := a.checkClient(req.GrantType, req.AppID, req.Secret)
	if code != 0 {
		a.refuseClient(c, code)
		return
	}
	var t token.Token
	if req.ForceRefresh {
		t, err = acct.Tokens.ForceRefresh(c.Request.Context())
		if errors.Is(err, token.ErrRateLimited) {
			t, err = acct.Tokens.Current(c.Request.Context())
		}
	} else {
		t, err = acct.Tokens.Current(c.Request.Context())
	}
	a.answerToken(c, t, err, false)
}

// checkClient returns the Official Account or Mini Program appID names if
// secret is its app secret, or WeChat's errcode for bad credentials. An
// appid is no secret (it is in every page the account serves); the secret
// is compared in constant time.
func (a *tokenAPI) checkClient(grantType, appID, secret string) (*Account, int) {
	switch {
	case grantType != "client_credential":
		return nil, 40002
	case appID == "":
		return nil, 41002
	case secret == "":
		return nil, 41004
	}
	acct, ok := a.accounts.ByAppID(appID)
	switch {
	case !ok || acct.Tokens == nil:
		return nil, 40013
	case !acct.Secret.Equal(secret):
		return nil, 40125
	}
	return acct, 0
}

// wecomToken answers WeCom's GET /cgi-bin/gettoken?corpid=..&corpsecret=..:
// the application of that corp whose secret it is (one corp has an
// application, and a token, per secret).
// https://developer.work.weixin.qq.com/document/path/91039
func (a *tokenAPI) wecomToken(c *gin.Context) {
	q := c.Request.URL.Query()
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	var acct *Account
	code := 0
	switch {
	case corpID == "":
		code = 41002
	case secret == "":
		code = 41004
	default:
		apps := a.accounts.byCorp[corpID]
		if len(apps) == 0 {
			code = 40013
			break
		}
		// Every application's secret is compared, so the time taken does
		// not tell which one came closest.
		for _, app := range apps {
			if app.Secret.Equal(secret) && app.Tokens != nil && acct == nil {
				acct = app
			}
		}
		if acct == nil {
			code = 40001
		}
	}
	if code != 0 {
		a.lim.failed(c, "errcode "+strconv.Itoa(code)+" "+wecomErrmsg[code])
		wecomError(c, code)
		return
	}
	t, err := acct.Tokens.Current(c.Request.Context())
	a.answerToken(c, t, err, true)
}

// refuseClient answers a failed authentication and records it; the reason
// is WeChat's errmsg, which names the field, never its value.
func (a *tokenAPI) refuseClient(c *gin.Context, code int) {
	a.lim.failed(c, "errcode "+strconv.Itoa(code)+" "+wechatErrmsg[code])
	wechatError(c, code)
}

// answerToken answers a drop-in request with t, or with the errcode of
// err; wecom answers in WeCom's shape, whose success carries errcode 0.
func (a *tokenAPI) answerToken(c *gin.Context, t token.Token, err error, wecom bool) {
	if err != nil {
		// Logged once per attempt by the manager. WeChat's own errcode
		// (45009, 40164, ...) tells an SDK more than a generic -1.
		a.log.Debug("drop-in token unavailable", "path", c.Request.URL.Path, "err", err)
		code := -1
		var apiErr *wechat.APIError
		if errors.As(err, &apiErr) {
			code = apiErr.Code
		}
		if wecom {
			wecomError(c, code)
		} else {
			wechatError(c, code)
		}
		return
	}
	var b []byte
	if wecom {
		b = append(appendTokenFields([]byte(`{"errcode":0,"errmsg":"ok",`), t, a.now()), "}\n"...)
	} else {
		b = appendTokenJSON(nil, t, a.now(), false)
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; encoding=utf-8", b)
}

var wechatErrmsg = map[int]string{
	-1:    "system error",
	40002: "invalid grant_type",
	40013: "invalid appid",
	40125: "invalid appsecret",
	41002: "appid missing",
	41004: "appsecret missing",
	45011: "api minute-quota reach limit mustslower retry next minute",
	47001: "data format error",
}

// wecomErrmsg are WeCom's messages for the codes wecomToken answers.
// https://developer.work.weixin.qq.com/document/path/96213
var wecomErrmsg = map[int]string{
	-1:    "system busy",
	40001: "invalid secret",
	40013: "invalid corpid",
	41002: "corpid missing",
	41004: "corpsecret missing",
	45011: "api freq out of limit",
}

// wechatError answers in WeChat's shape: HTTP 200 with errcode and errmsg,
// which is what SDKs parse.
func wechatError(c *gin.Context, code int) {
	msg, ok := wechatErrmsg[code]
	if !ok {
		msg = wechat.CodeMeaning(code)
	}
	c.JSON(http.StatusOK, gin.H{"errcode": code, "errmsg": msg})
}

// wecomError is wechatError in WeCom's words.
func wecomError(c *gin.Context, code int) {
	msg, ok := wecomErrmsg[code]
	if !ok {
		msg = wechat.PlatformWeCom.CodeMeaning(code)
	}
	c.JSON(http.StatusOK, gin.H{"errcode": code, "errmsg": msg})
}
