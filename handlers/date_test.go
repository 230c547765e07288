package handlers

import (
	"net/http"
	"testing"
	"time"
)

func TestDateHeader(t *testing.T) {
	var d dateHeader
	shanghai := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 12, 7, 11, 59, 59, 900e6, shanghai)
	a, b := d.at(t0), d.at(t0.Add(50*time.Millisecond))
	if len(a) != 1 || a[0] != "Mon, 07 Dec 2026 03:59:59 GMT" {
		t.Fatalf("at(%v) = %q", t0, a)
	}
	if &a[0] != &b[0] {
		t.Error("a second's value was formatted twice")
	}
	if c := d.at(t0.Add(100 * time.Millisecond)); c[0] != "Mon, 07 Dec 2026 04:00:00 GMT" {
		t.Errorf("next second: %q", c)
	}
	if _, err := http.ParseTime(a[0]); err != nil {
		t.Errorf("not an HTTP date: %v", err)
	}
}
