package wechat

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestConstantTimeEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"key", "key", true},
		{"key", "kez", false},
		{"key", "Key", false},
		{"key", "key2", false},
		{"key2", "key", false},
		{"", "x", false},
		{"\x00", "\x00", true},
		{"\x00", "\x01", false},
	}
	for _, tt := range tests {
		if got := ConstantTimeEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("ConstantTimeEqual(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2-very-secret")
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "secret", s)
	slog.New(slog.NewJSONHandler(&log, nil)).Info("x", "secret", s)
	out := fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s) + log.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret printed: %s", out)
	}
	if !s.Equal("hunter2-very-secret") || s.Equal("hunter2") || s.Reveal() != "hunter2-very-secret" {
		t.Errorf("Equal/Reveal wrong")
	}
}

func BenchmarkConstantTimeEqual(b *testing.B) {
	x, y := strings.Repeat("k", 32), strings.Repeat("k", 32)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ConstantTimeEqual(x, y)
	}
}
