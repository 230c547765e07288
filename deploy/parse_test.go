package deploy

import (
	"maps"
	"slices"
	"testing"
)

// The deployment checks are only as good as these small parsers: these pin
// the forms the deployment files use, so a parser slip cannot pass a broken
// file.

func TestImageRef(t *testing.T) {
	tests := []struct {
		ref, name, tag string
	}{
		{"golang:1.26.8", "golang", "1.26.8"},
		{"gcr.io/distroless/static-debian12:nonroot", "static-debian12", "nonroot"},
		{"localhost:5000/golang", "golang", ""},
		{"localhost:5000/golang:1.26.8-bookworm@sha256:abc", "golang", "1.26.8-bookworm"},
		{"scratch", "scratch", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if name, tag := imageRef(tt.ref); name != tt.name || tag != tt.tag {
				t.Errorf("imageRef(%q) = %q, %q; want %q, %q", tt.ref, name, tag, tt.name, tt.tag)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG GO=1.26.8
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
RUN --mount=type=cache,target=/root/.cache/go-build \
    # a comment inside a continuation is dropped
    go build -o /out/x .

FROM scratch
ENV A=1 \
    B="two"
ENV C 3
USER 65532:65532
`
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].From != "golang:1.26.8" || stages[1].From != "scratch" {
		t.Fatalf("stages = %+v; want golang:1.26.8 then scratch", stages)
	}
	run, _ := stages[0].last("RUN")
	if want := "--mount=type=cache,target=/root/.cache/go-build go build -o /out/x ."; run != want {
		t.Errorf("RUN = %q; want %q", run, want)
	}
	if got := withoutFlags(run); got != "go build -o /out/x ." {
		t.Errorf("withoutFlags(%q) = %q", run, got)
	}
	env := stages[1].env()
	if want := map[string]string{"A": "1", "B": "two", "C": "3"}; !maps.Equal(env, want) {
		t.Errorf("env = %v; want %v", env, want)
	}
	if _, err := parseDockerfile("RUN true\n"); err == nil {
		t.Errorf("parseDockerfile accepted RUN before FROM")
	}
	if _, err := parseDockerfile("FROM x\nRUN a \\\n"); err == nil {
		t.Errorf("parseDockerfile accepted a continuation past the end")
	}
}

func TestParseUnit(t *testing.T) {
	src := `[Service]
; a comment
ExecStart=/usr/local/bin/wxoa \
  serve
CapabilityBoundingSet=CAP_NET_RAW
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX
RestrictAddressFamilies=AF_INET AF_INET6
`
	u, err := parseUnit(src)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := u.last("Service", "ExecStart"); got != "/usr/local/bin/wxoa  serve" {
		t.Errorf("ExecStart = %q; want the continuation joined", got)
	}
	if got, ok := u.list("Service", "CapabilityBoundingSet"); !ok || len(got) != 0 {
		t.Errorf("CapabilityBoundingSet = %q, %v; want empty after the resetting assignment", got, ok)
	}
	if got, _ := u.list("Service", "RestrictAddressFamilies"); !slices.Equal(got, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("RestrictAddressFamilies = %q; want the assignments added up", got)
	}
	if _, err := parseUnit("Key=value\n"); err == nil {
		t.Errorf("parseUnit accepted a key outside a section")
	}
}
