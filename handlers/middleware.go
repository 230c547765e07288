package handlers

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
)

// observe writes one access-log line per request — method, path, status
// and latency, never the query string: it carries signatures, openids and,
// on the drop-in token endpoint, the app secret — and counts the request
// by route for /metrics, from the same two clock reads. route is the label
// to count under; "" takes the matched route pattern (Gin's FullPath).
func observe(log AccessLog, obs Observer, route string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		end := time.Now()
		label := route
		if label == "" {
			label = c.FullPath()
		}
		status, latency := c.Writer.Status(), end.Sub(start)
		obs.Request(label, c.Request.Method, status, latency)
		log.Request(c.Request.Context(), end, c.Request.Method, c.Request.URL.Path, status, latency)
	}
}

// recovery turns a panic into a logged 500 instead of a dropped connection.
// A panic is our bug, never the client's: it is logged with its stack.
func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.Error("panic serving request", "path", c.Request.URL.Path, "panic", p, "stack", string(debug.Stack()))
				c.AbortWithStatus(http.StatusInternalServerError)
			}
		}()
		c.Next()
	}
}

// limitBody caps what a handler can read; reading past it fails with
// *http.MaxBytesError, which handlers turn into 413. A body whose
// Content-Length is within the cap needs no wrapper: net/http reads no
// more than Content-Length (and saves an allocation on every callback).
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if cl := c.Request.ContentLength; cl < 0 || cl > n {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
