package admin

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the admin page mountable anywhere: it must not import the
// router it will be mounted on (wxoa/handlers), main, or Gin.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		if dep == "wxoa" || dep == "wxoa/handlers" || strings.Contains(dep, "gin-gonic") {
			t.Errorf("wxoa/handlers/admin depends on %s", dep)
		}
	}
	if !strings.Contains(string(out), "wxoa/wechat/token") {
		t.Fatalf("go list saw no wxoa/wechat/token; the check is blind:\n%s", out)
	}
}
