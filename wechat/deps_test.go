package wechat

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryImports keeps wechat/... a library: no Gin, and none of this
// project's application packages (config, handlers, main).
func TestLibraryImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	forbidden := []string{"github.com/gin-gonic/", "wxoa/config", "wxoa/handlers"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) || dep == "wxoa" {
				t.Errorf("wxoa/wechat/... depends on %s; want no %s", dep, f)
			}
		}
	}
	// The check itself must see the packages it guards.
	if !strings.Contains(string(out), "wxoa/wechat/token") {
		t.Fatalf("go list saw no wxoa/wechat/token; the check is blind:\n%s", out)
	}
}
