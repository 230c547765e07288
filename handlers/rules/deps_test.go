package rules

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHTTPFrameworkDeps keeps the rules engine pure logic: the handlers
// that use it may depend on Gin, it may not.
func TestNoHTTPFrameworkDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "gin-gonic") {
			t.Errorf("wxoa/handlers/rules depends on %s; want no HTTP framework", dep)
		}
	}
}
