package templates

import (
	"encoding/json"
	"io/fs"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestEmbedded: the binary carries every shipped default, and each parses
// as its format. (That rules.yaml means what it says is tested in
// reply/rules.)
func TestEmbedded(t *testing.T) {
	data, err := FS.ReadFile(RulesFile)
	if err != nil || len(data) == 0 {
		t.Fatalf("FS.ReadFile(%q) = %d bytes, %v; want the shipped rules", RulesFile, len(data), err)
	}
	yamls, err := fs.Glob(FS, "*.yaml")
	if err != nil || len(yamls) == 0 {
		t.Fatalf("fs.Glob(FS, *.yaml) = %q, %v; want at least %s", yamls, err, RulesFile)
	}
	for _, name := range yamls {
		b, _ := FS.ReadFile(name)
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
			t.Errorf("yaml.Unmarshal(%s) = %v (%d documents); want one valid document", name, err, len(doc.Content))
		}
	}
	jsons, _ := fs.Glob(FS, "*.json")
	for _, name := range jsons {
		b, _ := FS.ReadFile(name)
		if !json.Valid(b) {
			t.Errorf("json.Valid(%s) = false; want valid JSON", name)
		}
	}
}
