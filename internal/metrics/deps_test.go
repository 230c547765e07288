package metrics

import (
	"testing"

	"wxoa/internal/deptest"
)

// TestImports keeps the package usable from the Gin-free reply pipeline:
// no Gin, and none of the application packages that would import it.
func TestImports(t *testing.T) {
	deptest.Forbid(t, ".", []string{"github.com/prometheus/client_golang/prometheus"},
		"github.com/gin-gonic/...", "wxoa/handlers/...", "wxoa/config/...", "wxoa")
}
