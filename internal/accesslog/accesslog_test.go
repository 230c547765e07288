package accesslog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/internal/logtest"
)

// lineOf returns what l writes for one request, and what slog's own
// handler of the same format writes for the same record.
func lineOf(t *testing.T, f Format, end time.Time, method, path string, status int, latency time.Duration) (got, want string) {
	t.Helper()
	var fast, ref bytes.Buffer
	New(handler(f, &fast, slog.LevelInfo), &fast, f).Request(context.Background(), end, method, path, status, latency)
	Slow(handler(f, &ref, slog.LevelInfo)).Request(context.Background(), end, method, path, status, latency)
	return fast.String(), ref.String()
}

func handler(f Format, w *bytes.Buffer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if f == JSON {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

// TestSameAsSlog: the line is slog's, byte for byte, whatever the time,
// zone, status and latency, in both formats.
func TestSameAsSlog(t *testing.T) {
	base := time.Date(2026, 12, 7, 3, 21, 9, 0, time.UTC)
	times := map[string]time.Time{
		"utc whole second":    base,
		"utc ms":              base.Add(123 * time.Millisecond),
		"utc 100ms":           base.Add(100 * time.Millisecond),
		"utc ns":              base.Add(123456789),
		"utc trailing zeros":  base.Add(120000000),
		"utc one ns":          base.Add(1),
		"utc last ns":         base.Add(999999999),
		"shanghai":            base.Add(7 * time.Millisecond).In(mustZone(t, "Asia/Shanghai")),
		"kolkata half hour":   base.Add(450 * time.Microsecond).In(mustZone(t, "Asia/Kolkata")),
		"new york dst":        time.Date(2026, 7, 1, 12, 0, 0, 5e8, mustZone(t, "America/New_York")),
		"fixed zero not utc":  base.Add(42 * time.Millisecond).In(time.FixedZone("GMT0", 0)),
		"local now":           time.Now(),
		"year 1":              time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		"year 9999":           time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"year 10000 (slog's)": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"year -1 (slog's)":    time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	latencies := []time.Duration{0, 1, 999, 1500, time.Millisecond + 234567, 59*time.Second + 900*time.Millisecond, 2 * time.Hour, -time.Microsecond}
	requests := []struct{ method, path string }{
		{"POST", "/wechat"},
		{"GET", "/api/token"},
		{"GET", "/cgi-bin/token"},
		{"POST", "/wechat/acct-01_x.y~z"},
		{"GET", "/a%20b:c@d!e$f'(g)*h+i,j;k"},
		{"GET", "/path with space"},
		{"GET", "/a=b"},
		{"GET", `/q"uote`},
		{"GET", `/back\slash`},
		{"GET", "/ctl\x01\n"},
		{"GET", "/ünïcode"},
		{"GET", "/bad\xffutf8"},
		{"GET", "/<html>&"},
		{"GET", "/\u2028"},
		{"", "/empty-method"},
		{"GET", ""},
		{"M E", "/"},
	}
	for _, f := range []Format{Text, JSON} {
		for tn, end := range times {
			for _, lat := range latencies {
				for _, rq := range requests {
					for _, status := range []int{200, 403, 404, 599, 0, -1} {
						got, want := lineOf(t, f, end, rq.method, rq.path, status, lat)
						if got != want {
							t.Fatalf("format %d, %s, %s %q %d %v:\n got %q\nwant %q", f, tn, rq.method, rq.path, status, lat, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPlainBytes: every byte the fast path writes as is, slog writes as
// is in both formats.
func TestPlainBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		if !plainByte[c] {
			continue
		}
		path := "/a" + string(rune(c)) + "b"
		for _, f := range []Format{Text, JSON} {
			var ref bytes.Buffer
			Slow(handler(f, &ref, slog.LevelInfo)).Request(context.Background(), time.Unix(0, 0).UTC(), "GET", path, 200, 0)
			frag := "path=" + path + " "
			if f == JSON {
				frag = `"path":"` + path + `"`
			}
			if !strings.Contains(ref.String(), frag) {
				t.Errorf("byte %q: slog (format %d) writes %q, not %q", rune(c), f, ref.String(), frag)
			}
		}
	}
}

// TestLevel: the handler's level decides, as for any other line.
func TestLevel(t *testing.T) {
	for _, f := range []Format{Text, JSON} {
		var out bytes.Buffer
		l := New(handler(f, &out, slog.LevelWarn), &out, f)
		l.Request(context.Background(), time.Now(), "GET", "/healthz", 200, time.Millisecond)
		if out.Len() != 0 {
			t.Errorf("format %d at LevelWarn wrote %q", f, out.String())
		}
	}
}

// TestSecondBoundaries: consecutive requests across seconds, and a
// location change within one second, take the right stamp.
func TestSecondBoundaries(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	for _, f := range []Format{Text, JSON} {
		var fast, ref bytes.Buffer
		l := New(handler(f, &fast, slog.LevelInfo), &fast, f)
		r := Slow(handler(f, &ref, slog.LevelInfo))
		end := time.Date(2026, 12, 31, 23, 59, 58, 998e6, time.UTC)
		for i := range 50 {
			ts := end.Add(time.Duration(i) * 777 * time.Microsecond * 7)
			if i%3 == 0 {
				ts = ts.In(sh)
			}
			l.Request(context.Background(), ts, "POST", "/wechat", 200, time.Duration(i))
			r.Request(context.Background(), ts, "POST", "/wechat", 200, time.Duration(i))
		}
		if fast.String() != ref.String() {
			t.Errorf("format %d:\n got %s\nwant %s", f, fast.String(), ref.String())
		}
	}
}

// TestConcurrent: lines from many goroutines, across seconds, are whole
// and each is what slog writes for it (run with -race).
func TestConcurrent(t *testing.T) {
	var out logtest.Buffer // safe for concurrent use, as the log sink is
	l := New(slog.NewTextHandler(&out, nil), &out, Text)
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ts := start.Add(time.Duration(g*500+i) * 3 * time.Millisecond)
				l.Request(context.Background(), ts, "POST", fmt.Sprintf("/wechat/%d", g), 200, time.Duration(i))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	for _, line := range lines {
		var ref bytes.Buffer
		var g, i int
		var lat time.Duration
		if _, err := fmt.Sscanf(line[strings.Index(line, "path=/wechat/")+len("path=/wechat/"):], "%d status=200 latency=%v", &g, &lat); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		i = int(lat)
		ts := start.Add(time.Duration(g*500+i) * 3 * time.Millisecond)
		Slow(slog.NewTextHandler(&ref, nil)).Request(context.Background(), ts, "POST", fmt.Sprintf("/wechat/%d", g), 200, time.Duration(i))
		if line+"\n" != ref.String() {
			t.Fatalf("got %q\nwant %q", line, ref.String())
		}
	}
}

// BenchmarkRequest: the fast path against slog's handler for the same
// line, both writing to a locked buffer as to the log sink.
func BenchmarkRequest(b *testing.B) {
	for _, f := range []Format{Text, JSON} {
		for _, kind := range []string{"accesslog", "slog"} {
			b.Run(fmt.Sprintf("%s/format=%d", kind, f), func(b *testing.B) {
				w := &discardLocked{}
				var h slog.Handler = slog.NewTextHandler(w, nil)
				if f == JSON {
					h = slog.NewJSONHandler(w, nil)
				}
				l := New(h, w, f)
				if kind == "slog" {
					l = Slow(h)
				}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					l.Request(ctx, time.Now(), "POST", "/wechat", 200, 1234567)
				}
			})
		}
	}
}

type discardLocked struct{ mu sync.Mutex }

func (d *discardLocked) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(p), nil
}
