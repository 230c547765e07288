package rules

import (
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/templates"
	"wxoa/wechat"
)

// BenchmarkMatchEcho is the text-message path through the shipped rules:
// three keyword rules are tried, then the echo prefix rule answers.
func BenchmarkMatchEcho(b *testing.B) {
	e, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	msg := textMsg("echo hello world")
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.Match(msg); err != nil || r.Reply == nil {
			b.Fatalf("Match = %+v, %v", r, err)
		}
	}
}

// BenchmarkMatchSayBack is what the load test sends: plain text that falls
// through every rule to the say-back rule.
func BenchmarkMatchSayBack(b *testing.B) {
	e, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	msg := textMsg("hello")
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.Match(msg); err != nil || r.Reply == nil {
			b.Fatalf("Match = %+v, %v", r, err)
		}
	}
}

// BenchmarkMatchFields is a reply splicing a field into constant text.
func BenchmarkMatchFields(b *testing.B) {
	e, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	msg := subscribe("poster")
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.Match(msg); err != nil || r.Reply == nil {
			b.Fatalf("Match = %+v, %v", r, err)
		}
	}
}

// BenchmarkMatchTemplate is the slow path: a full text/template execution
// (the location rule uses with/else and .Msg).
func BenchmarkMatchTemplate(b *testing.B) {
	e, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	msg := &wechat.Location{Header: head(wechat.MsgLocation), LocationX: 23.1, LocationY: 113.3, Label: "Guangzhou"}
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.Match(msg); err != nil || r.Reply == nil {
			b.Fatalf("Match = %+v, %v", r, err)
		}
	}
}

func BenchmarkParseShipped(b *testing.B) {
	data, err := templates.FS.ReadFile(templates.RulesFile)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("rules.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
