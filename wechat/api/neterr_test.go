package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/wechat"
)

// closedAddr returns a 127.0.0.1 address nothing listens on: a port that was
// just listened on and closed.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// resettingAddr accepts connections, reads the request and closes with a
// TCP reset (SO_LINGER 0), as a crashing proxy would.
func resettingAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return l.Addr().String()
}

// silentServer accepts requests and never answers until the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv.Listener.Addr().String()
}

// noDNS is a transport whose resolver's server refuses every query, so a
// lookup fails at once without leaving the machine.
func noDNS(t *testing.T) http.RoundTripper {
	dead := closedAddr(t)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", dead)
	}}
	return &http.Transport{DialContext: (&net.Dialer{Resolver: r}).DialContext}
}

var reportedAfter = regexp.MustCompile(`after (\d[^ :]*)`)

// A transport error says what happened, after how long it really took:
// not "timed out after 10s" for everything.
func TestTransportErrorsSayWhatHappened(t *testing.T) {
	tests := []struct {
		name           string
		host           func(t *testing.T) string
		base           func(t *testing.T) http.RoundTripper
		attempt        time.Duration // AttemptTimeout
		deadline       time.Duration // the caller's; 0: none
		want           string
		minAt, maxAt   time.Duration // the elapsed time the error reports
		wantDeadlineIs bool
	}{
		{"refused", closedAddr, nil, 10 * time.Second, 0, "connection refused", 0, 5 * time.Second, false},
		{"reset", resettingAddr, nil, 10 * time.Second, 0, "connection reset", 0, 5 * time.Second, false},
		{"DNS failure", func(*testing.T) string { return "api.wxoa-test.invalid:80" }, noDNS, 10 * time.Second, 0, "DNS lookup", 0, 5 * time.Second, false},
		{"attempt timed out", silentServer, nil, 300 * time.Millisecond, 0, "timed out", 300 * time.Millisecond, 5 * time.Second, true},
		{"caller's deadline", silentServer, nil, 10 * time.Second, 300 * time.Millisecond, "timed out", 300 * time.Millisecond, 5 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			tr := &Transport{AttemptTimeout: tt.attempt, MaxAttempts: 2, Backoff: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if tt.base != nil {
				tr.Base = tt.base(t)
			}
			c, err := New(Config{BaseURL: "http://" + tt.host(t), AppID: "wxapp", AppSecret: wechat.Secret("s3cr3t"), HTTP: &http.Client{Timeout: tt.attempt}, MaxAttempts: 2, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			c.http.Transport = tr
			c.plain.Transport = tr
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			_, err = c.FetchAccessToken(ctx, false)
			if err == nil {
				t.Fatal("FetchAccessToken() = nil error; want a transport error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q; want it to say %q", msg, tt.want)
			}
			if tt.want != "timed out" && strings.Contains(msg, "timed out") {
				t.Errorf("error = %q; a %s is not a timeout", msg, tt.name)
			}
			if errors.Is(err, context.DeadlineExceeded) != tt.wantDeadlineIs {
				t.Errorf("errors.Is(%q, DeadlineExceeded) = %v; want %v", msg, !tt.wantDeadlineIs, tt.wantDeadlineIs)
			}
			m := reportedAfter.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("error = %q; want the elapsed time (\"after ...\")", msg)
			}
			d, err := time.ParseDuration(m[1])
			if err != nil || d < tt.minAt || d > tt.maxAt {
				t.Errorf("error reports %q elapsed; want the real time, between %v and %v", m[1], tt.minAt, tt.maxAt)
			}
			if strings.Contains(msg, "s3cr3t") || strings.Contains(logs.String(), "s3cr3t") {
				t.Errorf("the secret leaked: %q\n%s", msg, logs.String())
			}
			if tt.deadline == 0 && !strings.Contains(logs.String(), tt.want) {
				t.Errorf("the retry's log line does not say %q:\n%s", tt.want, logs.String())
			}
		})
	}
}
