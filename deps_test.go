package main

import (
	"testing"

	"wxoa/internal/deptest"
)

// TestLayering keeps dependencies pointing one way: main → handlers →
// reply → wechat, main → config; the tools that talk to the server (sim,
// demo, harness) do so over HTTP, not by importing it. The library
// (wechat/...), the pipeline (reply/...), the admin page and the metrics
// have their own deps tests beside them.
func TestLayering(t *testing.T) {
	tests := []struct {
		pkgs      string
		seen      []string
		forbidden []string
	}{
		{"./internal/sim/...", []string{"wxoa/wechat"}, []string{"github.com/gin-gonic/...", "wxoa/handlers/...", "wxoa/reply/...", "wxoa"}},
		{"./internal/demo/...", []string{"wxoa/wechat/wechattest"}, []string{"github.com/gin-gonic/...", "wxoa/handlers/...", "wxoa/reply/...", "wxoa"}},
		{"./internal/harness/...", []string{"net/http"}, []string{"wxoa/config/...", "wxoa/handlers/...", "wxoa/reply/...", "wxoa/wechat/...", "wxoa"}},
		{"./config/...", []string{"wxoa/wechat/token"}, []string{"github.com/gin-gonic/...", "wxoa/handlers/...", "wxoa/reply/...", "wxoa"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkgs, func(t *testing.T) {
			deptest.Forbid(t, tt.pkgs, tt.seen, tt.forbidden...)
		})
	}
}
