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

// The drop-in endpoints answer like api.weixin.qq.com so that any SDK whose
// API base points here shares the one managed token without code changes.
// They authenticate the way WeChat does, with appid and secret, and never
// call upstream themselves. A failed authentication counts against the
// client's AuthLimit, which the route's gate enforces before we get here.

// classicToken answers GET /cgi-bin/token.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
func (a *tokenAPI) classicToken(c *gin.Context) {
	q := c.Request.URL.Query()
	if code := a.checkClient(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		a.refuseClient(c, code)
		return
	}
	t, err := a.tokens.Current(c.Request.Context())
	a.answerToken(c, t, err)
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
	if code := a.checkClient(req.GrantType, req.AppID, req.Secret); code != 0 {
		a.refuseClient(c, code)
		return
	}
	var t token.Token
	if req.ForceRefresh {
		t, err = a.tokens.ForceRefresh(c.Request.Context())
		if errors.Is(err, token.ErrRateLimited) {
			t, err = a.tokens.Current(c.Request.Context())
		}
	} else {
		t, err = a.tokens.Current(c.Request.Context())
	}
	a.answerToken(c, t, err)
}

// checkClient returns WeChat's errcode for bad credentials, or 0.
func (a *tokenAPI) checkClient(grantType, appID, secret string) int {
	switch {
	case grantType != "client_credential":
		return 40002
	case appID == "":
		return 41002
	case secret == "":
		return 41004
	case !wechat.ConstantTimeEqual(appID, a.appID):
		return 40013
	case !a.appSecret.Equal(secret):
		return 40125
	}
	return 0
}

// refuseClient answers a failed authentication and records it; the reason
// is WeChat's errmsg, which names the field, never its value.
func (a *tokenAPI) refuseClient(c *gin.Context, code int) {
	a.lim.failed(c, "errcode "+strconv.Itoa(code)+" "+wechatErrmsg[code])
	wechatError(c, code)
}

func (a *tokenAPI) answerToken(c *gin.Context, t token.Token, err error) {
	if err != nil {
		// Logged once per attempt by the manager. WeChat's own errcode
		// (45009, 40164, ...) tells an SDK more than a generic -1.
		a.log.Debug("drop-in token unavailable", "path", c.Request.URL.Path, "err", err)
		code := -1
		var apiErr *wechat.APIError
		if errors.As(err, &apiErr) {
			code = apiErr.Code
		}
		wechatError(c, code)
		return
	}
	b := appendTokenJSON(nil, t, a.now(), false)
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

// wechatError answers in WeChat's shape: HTTP 200 with errcode and errmsg,
// which is what SDKs parse.
func wechatError(c *gin.Context, code int) {
	msg, ok := wechatErrmsg[code]
	if !ok {
		msg = wechat.CodeMeaning(code)
	}
	c.JSON(http.StatusOK, gin.H{"errcode": code, "errmsg": msg})
}
