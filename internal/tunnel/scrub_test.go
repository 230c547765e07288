package tunnel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// tokenHolder leaks the token through encoding/json but not through fmt.
type tokenHolder struct {
	Token string `json:"token"`
}

func (tokenHolder) String() string { return "holder" }

// leakyValuer hands the token out when resolved.
type leakyValuer struct{}

func (leakyValuer) LogValue() slog.Value { return slog.StringValue("resolved " + testToken) }

// TestLogsScrubbed: whatever the tunnel library logs, the authtoken never
// reaches our log output, which stays one JSON object a line.
func TestLogsScrubbed(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := &fakeTunnel{logFn: func(log *slog.Logger) {
		log.Info("auth with "+testToken, "authtoken", testToken)
		log.Debug("rpc", "err", errors.New("bad token "+testToken), "raw", []byte(testToken))
		log.Warn("nested", slog.Group("auth", "token", testToken, slog.Group("deeper", "t", testToken)))
		log.With("token", testToken).WithGroup("g").Error("with", "v", leakyValuer{}, "holder", tokenHolder{testToken})
		log.Info("map", testToken, 1, "m", map[string]string{"t": testToken})
	}}
	ln, _, err := Opener{Dial: f.dial}.Open(t.Context(), testToken, log)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	out := buf.String()
	if strings.Contains(out, testToken) {
		t.Errorf("log output contains the authtoken:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Errorf("log output has %d lines; want 5:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("log line is not JSON: %v\n%s", err, l)
		}
		if !strings.Contains(l, redacted) {
			t.Errorf("log line lacks %s: %s", redacted, l)
		}
	}
}

// codedErr looks like an ngrok.Error.
type codedErr struct{ msg string }

func (e codedErr) Error() string { return e.msg }
func (e codedErr) Code() string  { return "ERR_NGROK_105" }

// tempErr is a temporary net.Error.
type tempErr struct{ msg string }

func (e tempErr) Error() string   { return e.msg }
func (e tempErr) Timeout() bool   { return true }
func (e tempErr) Temporary() bool { return true }

func TestDialErrorScrubbed(t *testing.T) {
	plain := errors.New("connection refused")
	tests := []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"ngrok code kept", codedErr{"ERR_NGROK_105: authtoken " + testToken + " is invalid"}, func(err error) bool {
			var c interface{ Code() string }
			return errors.As(err, &c) && c.Code() == "ERR_NGROK_105"
		}},
		{"net.Error kept", tempErr{"token " + testToken + " timed out"}, func(err error) bool {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout()
		}},
		{"wrapped", errors.Join(errors.New("session"), errors.New(testToken)), func(error) bool { return true }},
		{"no token: identity kept", plain, func(err error) bool { return errors.Is(err, plain) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTunnel{err: tt.err}
			_, _, err := Opener{Dial: f.dial}.Open(t.Context(), testToken, nil)
			if err == nil {
				t.Fatal("Open() = nil error; want the dialer's")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("Open() error = %q; contains the authtoken", err)
			}
			if strings.Contains(tt.err.Error(), testToken) && !strings.Contains(err.Error(), redacted) {
				t.Errorf("Open() error = %q; want %s in place of the token", err, redacted)
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), testToken) {
					t.Errorf("unwrapped error %q contains the authtoken", e)
				}
			}
			if !tt.check(err) {
				t.Errorf("Open() error = %#v; lost what callers branch on", err)
			}
		})
	}
}

func TestAcceptErrorScrubbed(t *testing.T) {
	stub := &stubListener{acceptErr: tempErr{"accept: " + testToken}}
	l := newListener(t.Context(), stub, func(error) {}, time.Second, testToken)
	defer l.Close()
	_, err := l.Accept()
	var ne net.Error
	if err == nil || strings.Contains(err.Error(), testToken) || !errors.As(err, &ne) || !ne.Temporary() {
		t.Errorf("Accept() = %v; want a scrubbed temporary net.Error", err)
	}
}

// blockingDial is a Dialer that never gets through: it waits for ctx, as
// ngrok's client does when it cannot reach ngrok.
func blockingDial(ctx context.Context, _ string, _ *slog.Logger) (net.Listener, string, error) {
	<-ctx.Done()
	return nil, "", errors.New("dial tcp connect.ngrok-agent.com:443: " + ctx.Err().Error())
}

func TestConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, _, err := Opener{Dial: blockingDial}.Open(t.Context(), testToken, nil)
		if !errors.Is(err, ErrConnectTimeout) {
			t.Errorf("Open() = %v; want ErrConnectTimeout", err)
		}
		if d := time.Since(start); d != DefaultConnectTimeout {
			t.Errorf("Open() gave up after %v; want %v", d, DefaultConnectTimeout)
		}
	})
}

func TestCanceledDuringDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, _, err := Opener{Dial: blockingDial}.Open(ctx, testToken, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open() = %v; want context.Canceled", err)
		}
	})
}

// TestLateListenerClosed: a dialer that returns a listener after the
// timeout fired does not leak it, and Open reports the timeout.
func TestLateListenerClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stub := &stubListener{}
		late := func(ctx context.Context, _ string, _ *slog.Logger) (net.Listener, string, error) {
			time.Sleep(DefaultConnectTimeout + time.Second) // ignores ctx
			return stub, "https://late.example", nil
		}
		ln, _, err := Opener{Dial: late}.Open(t.Context(), testToken, nil)
		if !errors.Is(err, ErrConnectTimeout) || ln != nil {
			t.Errorf("Open() = %v, %v; want nil, ErrConnectTimeout", ln, err)
		}
		if !stub.isClosed() {
			t.Error("late listener left open")
		}
	})
}
