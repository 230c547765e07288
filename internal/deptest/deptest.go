// Package deptest fails a test when a package gains an import it must not
// have, in the manner of tailscale's tstest/deptest: the one-way
// dependencies of STYLE.md's "Shape" are checked by `go test`, not by
// review.
package deptest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Forbid fails t for each dependency of the packages matching pattern (a
// `go list` pattern, resolved in the test's directory) that matches one of
// forbidden: an import path, or a tree when it ends in "/...", as in go's
// own patterns. A dependency list without each of seen fails t too: a
// check that sees nothing passes whatever is imported.
func Forbid(t testing.TB, pattern string, seen []string, forbidden ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		for _, f := range forbidden {
			if matches(f, dep) {
				t.Errorf("%s depends on %s; want nothing matching %s", pattern, dep, f)
			}
		}
	}
	for _, s := range seen {
		if !slices.Contains(deps, s) {
			t.Fatalf("go list -deps %s saw no %s; the check is blind:\n%s", pattern, s, out)
		}
	}
}

func matches(pattern, path string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == tree || strings.HasPrefix(path, tree+"/")
	}
	return path == pattern
}
