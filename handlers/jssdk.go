package handlers

import (
	"context"
	"errors"
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
			c.JSON(http.StatusBadRequest, gin.H{"error": "missing url"})
			return
		}
		cfg, err := s.Sign(c.Request.Context(), u)
		switch {
		case errors.Is(err, jssdk.ErrBadURL):
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		case err != nil:
			log.Error("jssdk config", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": err.Error()})
		default:
			c.Header("Cache-Control", "no-store")
			c.JSON(http.StatusOK, cfg)
		}
	}
}
