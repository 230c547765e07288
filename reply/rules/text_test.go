package rules

import (
	"strings"
	"testing"
	"text/template"
)

// TestTextMatchesTemplate: the fast paths must print exactly what
// text/template prints, and be taken where intended.
func TestTextMatchesTemplate(t *testing.T) {
	d := &Data{ToUserName: "gh_1", FromUserName: "o_1", CreateTime: 1700000000, MsgType: "text",
		Content: "hi <b>&", Rest: "rest", Match: []string{"all", "one"}, Msg: textMsg("hi <b>&")}
	tests := []struct {
		src  string
		path string // const, fields, template
	}{
		{"", "const"},
		{"plain text, no actions", "const"},
		{"{{/* a comment */}}only text", "const"},
		{"{{.Rest}}", "fields"},
		{"Hello {{.FromUserName}}, you said: {{.Content}}!", "fields"},
		{"{{- .Content -}}  \n", "fields"},
		{"{{.Content}}{{.Content}}{{.ToUserName}}", "fields"},
		{"{{.CreateTime}}", "template"},
		{"{{index .Match 1}}", "template"},
		{"{{.Content | printf \"%q\"}}", "template"},
		{"{{if .Content}}yes{{end}}", "template"},
		{"{{.Msg.Content}}", "template"},
		{"{{$x := .Content}}{{$x}}", "template"},
	}
	for _, tt := range tests {
		txt, err := compileText("content", tt.src)
		if err != nil {
			t.Fatalf("compileText(%q) = %v", tt.src, err)
		}
		path := "template"
		switch {
		case txt.isConst():
			path = "const"
		case txt.tmpl == nil:
			path = "fields"
		}
		var want strings.Builder
		if err := template.Must(template.New("").Parse(tt.src)).Execute(&want, d); err != nil {
			t.Fatal(err)
		}
		got, err := txt.render(d)
		if err != nil || got != want.String() || path != tt.path {
			t.Errorf("compileText(%q).render = %q, %v via %s; want %q, nil via %s", tt.src, got, err, path, want.String(), tt.path)
		}
	}
}

// TestEveryFieldKnown: the fast path covers Data's string fields only and
// knows all of them.
func TestEveryFieldKnown(t *testing.T) {
	for name := range stringFields {
		if !dataFields[name] {
			t.Errorf("stringFields[%q] is not a field of Data", name)
		}
	}
	for _, f := range []string{"Content", "Rest", "Match", "Msg", "Scene", "CreateTime"} {
		if !dataFields[f] {
			t.Errorf("dataFields[%q] = false; want true", f)
		}
	}
	if dataFields["words"] {
		t.Errorf("dataFields[words] = true; want unexported fields hidden from templates")
	}
}
