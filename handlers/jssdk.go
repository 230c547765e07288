package handlers

import (
	"context"
	"log/slog"
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

// jssdkConfig answers GET /api/jssdk/config?url=...
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func jssdkConfig(s JSSDKService, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		u := c.Query("url")
		if u == "" {
			writeError(c, log, inputError("missing url"))
			return
		}
		cfg, err := s.Sign(c.Request.Context(), u)
		if err != nil {
			// The ticket manager's error, or ErrBadURL (a 400 all the same).
			writeError(c, log, tokenError{err})
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, cfg)
	}
}
