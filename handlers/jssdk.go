package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// JSSDKService signs a page URL for wx.config.
type JSSDKService interface {
	// SignURL returns the JSON-ready config; a bad URL is an *BadInputError.
	SignURL(ctx context.Context, pageURL string) (any, error)
}

// BadInputError marks an error caused by the caller's input (a 400).
type BadInputError struct{ Err error }

func (e *BadInputError) Error() string { return e.Err.Error() }
func (e *BadInputError) Unwrap() error { return e.Err }

// jssdkConfig answers GET /api/jssdk/config?url=...
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func jssdkConfig(s JSSDKService, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		u := c.Query("url")
		if u == "" {
			c.JSON(http.StatusBadRequest, gin.H{"error": "missing url"})
			return
		}
		cfg, err := s.SignURL(c.Request.Context(), u)
		var bad *BadInputError
		switch {
		case errors.As(err, &bad):
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
