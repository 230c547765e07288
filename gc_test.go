package main

import (
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"wxoa/internal/logtest"
)

func TestGCPercent(t *testing.T) {
	tests := []struct {
		budget int64
		want   int
	}{
		{1 << 20, 96},
		{32 << 20, 42}, // the default: headroom 24 MiB over a live heap of 32+ MiB
		{256 << 20, 10},
		{16 << 30, 10},
	}
	for _, tt := range tests {
		if got := gcPercent(tt.budget); got != tt.want {
			t.Errorf("gcPercent(%d) = %d; want %d", tt.budget, got, tt.want)
		}
	}
}

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))

	env := map[string]string{"GOGC": "200"}
	if p := tuneGC(func(k string) string { return env[k] }, 32<<20, log); p != -1 || debug.SetGCPercent(100) != 100 {
		t.Errorf("GOGC=200 set: tuneGC = %d and changed the percentage; want it left alone", p)
	}
	delete(env, "GOGC")
	if p := tuneGC(func(k string) string { return env[k] }, 32<<20, log); p != 42 || debug.SetGCPercent(100) != 42 {
		t.Errorf("tuneGC = %d; want 42 set", p)
	}
	if !strings.Contains(logs.String(), "gogc=42") {
		t.Errorf("no log line: %s", logs)
	}
}
