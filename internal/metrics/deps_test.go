package metrics

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package usable from the Gin-free reply pipeline:
// no Gin, and none of the application packages that would import it.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		for _, f := range []string{"github.com/gin-gonic/", "wxoa/handlers", "wxoa/config"} {
			if strings.HasPrefix(dep, f) || dep == "wxoa" {
				t.Errorf("wxoa/internal/metrics depends on %s; want no %s", dep, f)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/prometheus/client_golang/prometheus") {
		t.Fatalf("go list saw no client_golang; the check is blind:\n%s", out)
	}
}
