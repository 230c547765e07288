package templates

import (
	"html/template"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

// TestAdminTemplate: the admin page parses as html/template on its own (it
// needs no functions, so handlers/admin can change without it) and defines
// the two pages handlers/admin renders. Rendering is tested there.
func TestAdminTemplate(t *testing.T) {
	tmpl, err := template.ParseFS(FS, AdminFile)
	if err != nil {
		t.Fatalf("template.ParseFS(FS, %q) = %v", AdminFile, err)
	}
	for _, name := range []string{"login", "admin"} {
		if tmpl.Lookup(name) == nil {
			t.Errorf("%s defines no template %q", AdminFile, name)
		}
	}
	// The page's Content-Security-Policy allows no script: one here would
	// silently not run.
	b, _ := FS.ReadFile(AdminFile)
	if strings.Contains(strings.ToLower(string(b)), "<script") {
		t.Errorf("%s contains a <script>; the admin page's CSP forbids scripts", AdminFile)
	}
}
