package wechat

import (
	"testing"

	"wxoa/internal/deptest"
)

// TestLibraryImports keeps wechat/... a library: no Gin, and none of this
// project's application packages (config, handlers, reply, internal, main).
func TestLibraryImports(t *testing.T) {
	deptest.Forbid(t, "./...", []string{"wxoa/wechat/token"},
		"github.com/gin-gonic/...", "wxoa/config/...", "wxoa/handlers/...", "wxoa/reply/...", "wxoa/internal/...", "wxoa")
}
