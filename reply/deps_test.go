package reply

import (
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/internal/deptest"
)

// TestNoServerDeps keeps reply/... the reply pipeline and nothing more: no
// Gin, none of the HTTP surface it is served by (wxoa/handlers), not our
// config (it takes plain values) and not main. Its HTTP is a client's.
func TestNoServerDeps(t *testing.T) {
	deptest.Forbid(t, "./...", []string{"wxoa/reply/rules", "wxoa/wechat/dedup"},
		"github.com/gin-gonic/...", "wxoa/handlers/...", "wxoa/config/...", "wxoa")
}
