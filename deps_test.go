package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps dependencies pointing one way: main → handlers →
// reply → wechat, main → config; the library and the pipeline free of Gin;
// the tools that talk to the server (sim, demo, harness) doing so over
// HTTP, not by importing it. Each package family has its own test for its
// main rule too; this one sees the whole tree at once.
func TestLayering(t *testing.T) {
	tests := []struct {
		pkgs      string
		forbidden []string
	}{
		{"./wechat/...", []string{"github.com/gin-gonic/", "wxoa/config", "wxoa/handlers", "wxoa/reply", "wxoa/internal/"}},
		{"./internal/sim/...", []string{"github.com/gin-gonic/", "wxoa/handlers", "wxoa/reply"}},
		{"./internal/demo/...", []string{"github.com/gin-gonic/", "wxoa/handlers", "wxoa/reply"}},
		{"./internal/harness/...", []string{"wxoa/config", "wxoa/handlers", "wxoa/reply", "wxoa/wechat"}},
		{"./internal/metrics/...", []string{"github.com/gin-gonic/", "wxoa/handlers", "wxoa/config"}},
		{"./config/...", []string{"github.com/gin-gonic/", "wxoa/handlers"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkgs, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", tt.pkgs).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tt.pkgs, err)
			}
			deps := strings.Fields(string(out))
			if len(deps) == 0 {
				t.Fatalf("go list saw nothing under %s; the check is blind", tt.pkgs)
			}
			for _, d := range deps {
				for _, f := range tt.forbidden {
					if strings.HasPrefix(d, f) || d == "wxoa" {
						t.Errorf("%s depends on %s; want no %s", tt.pkgs, d, f)
					}
				}
			}
		})
	}
}
