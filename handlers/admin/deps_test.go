package admin

import (
	"testing"

	"wxoa/internal/deptest"
)

// TestDeps keeps the admin page mountable anywhere: it must not import the
// router it will be mounted on (wxoa/handlers), main, or Gin.
func TestDeps(t *testing.T) {
	deptest.Forbid(t, ".", []string{"wxoa/wechat/token"}, "wxoa", "wxoa/handlers", "github.com/gin-gonic/...")
}
