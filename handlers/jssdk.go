package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"wxoa/wechat/jssdk"
)

// JSSDKService signs a page URL for wx.config (jssdk.Signer).
type JSSDKService interface {
	// Sign returns the config; a URL that cannot be signed matches
	// jssdk.ErrBadURL.
	Sign(ctx context.Context, pageURL string) (jssdk.Config, error)
}

// jssdkConfig answers GET /api/jssdk/config?url=...[&account=NAME|appid=APPID]
// for an account that signs pages (an Official Account).
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func (a *tokenAPI) jssdkConfig(c *gin.Context) {
	acct, ok := a.selectFromQuery(c)
	if !ok {
		return
	}
	if acct.JSSDK == nil {
		writeError(c, a.log, &noJSSDKError{acct.Name, acct.Kind})
		return
	}
	u := c.Query("url")
	if u == "" {
		writeError(c, a.log, inputError("missing url"))
		return
	}
	cfg, err := acct.JSSDK.Sign(c.Request.Context(), u)
	if err != nil {
		// The ticket manager's error, or ErrBadURL (a 400 all the same).
		writeError(c, a.log, tokenError{err})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, cfg)
}

// noJSSDKError is a JS-SDK request for an account that signs no pages: the
// JS-SDK is an Official Account's (404).
type noJSSDKError struct {
	name string
	kind Kind
}

func (e *noJSSDKError) Error() string {
	return "account " + e.name + " (" + string(e.kind) + ") has no JS-SDK: it is an Official Account's"
}
