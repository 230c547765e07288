package rules

import (
	"testing"

	"wxoa/internal/deptest"
)

// TestNoHTTPFrameworkDeps keeps the rules engine pure logic: the handlers
// that use it may depend on Gin, it may not.
func TestNoHTTPFrameworkDeps(t *testing.T) {
	deptest.Forbid(t, ".", []string{"wxoa/wechat"}, "github.com/gin-gonic/...")
}
