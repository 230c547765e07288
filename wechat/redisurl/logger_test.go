package redisurl

import (
	"strings"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	type line struct {
		at             time.Duration // after t0
		key            string
		ok             bool
		wantSuppressed int
	}
	tests := []struct {
		name  string
		lines []line
	}{
		{"the first three, then one a minute with the count held back", []line{
			{0, "a", true, 0}, {time.Second, "a", true, 0}, {2 * time.Second, "a", true, 0},
			{3 * time.Second, "a", false, 0}, {4 * time.Second, "a", false, 0}, {61 * time.Second, "a", false, 0},
			{62 * time.Second, "a", true, 3}, {63 * time.Second, "a", false, 0}, {200 * time.Second, "a", true, 1},
		}},
		{"each shape its own", []line{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 0},
			{0, "b", true, 0}, {0, "b", true, 0}, {0, "b", true, 0}, {0, "b", false, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var now time.Time
			p := newPacer(3, time.Minute, func() time.Time { return now })
			for i, l := range tt.lines {
				now = t0.Add(l.at)
				ok, n := p.allow(l.key)
				if ok != l.ok || n != l.wantSuppressed {
					t.Errorf("line %d (%q at %v): allow = %v, %d; want %v, %d", i, l.key, l.at, ok, n, l.ok, l.wantSuppressed)
				}
			}
		})
	}
}

func TestPacerBoundsShapes(t *testing.T) {
	p := newPacer(1, time.Minute, time.Now)
	for i := range 10 * logShapes {
		p.allow(strings.Repeat("x", i))
	}
	if n := len(p.shapes); n > logShapes {
		t.Errorf("%d shapes remembered; want at most %d", n, logShapes)
	}
}

func TestShape(t *testing.T) {
	tests := []struct{ a, b string }{
		{"failed to dial after 1 attempts: dial tcp 127.0.0.1:6379: connect: connection refused",
			"failed to dial after 12 attempts: dial tcp 10.0.0.7:7001: connect: connection refused"},
		{"conn[17] rejected by hook", "conn[4] rejected by hook"},
	}
	for _, tt := range tests {
		if shape(tt.a) != shape(tt.b) {
			t.Errorf("shape(%q) = %q, shape(%q) = %q; want the same", tt.a, shape(tt.a), tt.b, shape(tt.b))
		}
	}
	refused := "dial tcp 127.0.0.1:6379: connect: connection refused"
	timeout := "dial tcp 127.0.0.1:6379: i/o timeout"
	if shape(refused) == shape(timeout) {
		t.Errorf("shape(%q) = shape(%q); want a refusal and a timeout apart", refused, timeout)
	}
}
