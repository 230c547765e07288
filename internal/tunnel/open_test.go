package tunnel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "2abcDEFghiJKLmnoPQR_3stuVWXyz0123456789tokenSECRET"

// fakeTunnel is a Dialer on 127.0.0.1 that keeps the Dialer contract: when
// its ctx ends, the "tunnel" goes down and takes its listener with it.
type fakeTunnel struct {
	calls  atomic.Int32
	logFn  func(log *slog.Logger) // run with the logger Open passes, if set
	err    error                  // returned instead of a listener, if set
	url    string                 // returned instead of the listener's URL, if set
	ended  chan struct{}          // closed when the dialer's ctx ends
	cancel error                  // context.Cause of that ctx
}

func (f *fakeTunnel) dial(ctx context.Context, authtoken string, log *slog.Logger) (net.Listener, string, error) {
	f.calls.Add(1)
	if authtoken != testToken {
		return nil, "", errors.New("fake: wrong authtoken")
	}
	if f.logFn != nil {
		f.logFn(log)
	}
	if f.err != nil {
		return nil, "", f.err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	f.ended = make(chan struct{})
	context.AfterFunc(ctx, func() {
		f.cancel = context.Cause(ctx)
		_ = ln.Close()
		close(f.ended)
	})
	if f.url != "" {
		return ln, f.url, nil
	}
	return ln, "http://" + ln.Addr().String() + "/", nil
}

// mustOpen opens a fake tunnel and serves h on it, and shuts both down at
// the end of the test.
func mustOpen(tb testing.TB, ctx context.Context, f *fakeTunnel, h http.Handler) (*http.Server, string, <-chan error) {
	tb.Helper()
	ln, url, err := Opener{Dial: f.dial}.Open(ctx, testToken, nil)
	if err != nil {
		tb.Fatalf("Open() error: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		served <- srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return srv, url, served
}

// get returns the status and body, or the error, of GET url.
func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b)
}

func hello(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.URL.Path) }

func TestOpenServes(t *testing.T) {
	f := &fakeTunnel{}
	_, url, _ := mustOpen(t, t.Context(), f, http.HandlerFunc(hello))
	if strings.HasSuffix(url, "/") {
		t.Errorf("Open() URL = %q; want no trailing slash", url)
	}
	if got, want := get(url+"/wechat"), "200 OK hello /wechat"; got != want {
		t.Errorf("GET /wechat = %q; want %q", got, want)
	}
}

// TestCtxEndDrains: ctx's end stops accepting at once, but the tunnel stays
// up until Shutdown has finished the request in flight.
func TestCtxEndDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	f := &fakeTunnel{}
	srv, url, served := mustOpen(t, ctx, f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "late")
	}))
	got := make(chan string, 1)
	go func() { got <- get(url + "/slow") }()
	<-entered

	cancel()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve() after ctx end = %v; want net.ErrClosed", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		t.Error("dial after ctx end succeeded; want refused")
	}
	select {
	case <-f.ended:
		t.Fatal("tunnel ended with a request in flight")
	case <-time.After(50 * time.Millisecond):
	}

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	close(release)
	if g := <-got; g != "200 OK late" {
		t.Errorf("request in flight = %q; want 200 OK late", g)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	select {
	case <-f.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("tunnel still up after Shutdown")
	}
}

func TestCloseEndsTunnel(t *testing.T) {
	f := &fakeTunnel{}
	ln, _, err := Opener{Dial: f.dial}.Open(t.Context(), testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	err1, err2 := ln.Close(), ln.Close()
	if err1 != nil || err2 != nil {
		t.Errorf("Close(), Close() = %v, %v; want nil, nil", err1, err2)
	}
	<-f.ended
	if !errors.Is(f.cancel, context.Canceled) {
		t.Errorf("tunnel ended with cause %v; want context.Canceled", f.cancel)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept() after Close = %v; want net.ErrClosed", err)
	}
}

// TestDrainTimeout: a connection that never closes does not keep the tunnel
// up forever.
func TestDrainTimeout(t *testing.T) {
	f := &fakeTunnel{}
	ln, url, err := Opener{Dial: f.dial, DrainTimeout: 20 * time.Millisecond}.Open(t.Context(), testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	ln.Close()
	select {
	case <-f.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("tunnel still up after the drain timeout")
	}
	if !errors.Is(f.cancel, errDrainTimeout) {
		t.Errorf("tunnel ended with cause %v; want %v", f.cancel, errDrainTimeout)
	}
}

func TestNoAuthtoken(t *testing.T) {
	f := &fakeTunnel{}
	ln, url, err := Opener{Dial: f.dial}.Open(t.Context(), "", nil)
	if !errors.Is(err, ErrNoAuthtoken) || ln != nil || url != "" {
		t.Errorf(`Open("") = %v, %q, %v; want nil, "", ErrNoAuthtoken`, ln, url, err)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("dialer called %d times; want 0", n)
	}
	if !strings.Contains(err.Error(), "https://dashboard.ngrok.com/get-started/your-authtoken") {
		t.Errorf("ErrNoAuthtoken = %q; want the dashboard URL", err)
	}
}

func TestOpenCanceledBeforeDial(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f := &fakeTunnel{}
	if _, _, err := (Opener{Dial: f.dial}).Open(ctx, testToken, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Open(canceled ctx) = %v; want context.Canceled", err)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("dialer called %d times; want 0", n)
	}
}

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"/", "127.0.0.1:80", "ftp://example.com", "https://"} {
		t.Run(u, func(t *testing.T) {
			f := &fakeTunnel{url: u}
			if _, _, err := (Opener{Dial: f.dial}).Open(t.Context(), testToken, nil); err == nil {
				t.Errorf("Open() with dialer URL %q = nil error; want one", f.url)
			}
			<-f.ended // the dialed tunnel is taken down
		})
	}
}

// stubListener is a listener without sockets, for synctest bubbles.
type stubListener struct {
	mu        sync.Mutex
	closed    bool
	acceptErr error
}

func (s *stubListener) Accept() (net.Conn, error) {
	if s.acceptErr != nil {
		return nil, s.acceptErr
	}
	return nil, net.ErrClosed
}
func (s *stubListener) Close() error   { s.mu.Lock(); s.closed = true; s.mu.Unlock(); return nil }
func (s *stubListener) Addr() net.Addr { return &net.TCPAddr{} }
func (s *stubListener) isClosed() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.closed }

// ForServer prints the console values once the tunnel is open, Help without
// an authtoken (and leaves the server local), and logs only the URL.
func TestForServer(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	c := Console{CallbackPath: "/wechat", Token: "consoletoken1"}
	var out, logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ln, url, err := Opener{Dial: func(context.Context, string, *slog.Logger) (net.Listener, string, error) {
		t.Fatal("dialed without an authtoken")
		return nil, "", nil
	}}.ForServer(t.Context(), "", local, []Console{c}, log, &out)
	if ln != nil || url != "" || err != nil || !strings.Contains(out.String(), "8080") || !strings.Contains(out.String(), "consoletoken1") {
		t.Errorf("ForServer without an authtoken = %v, %q, %v, printed %q; want nil and the help", ln, url, err, out.String())
	}
	f := &fakeTunnel{}
	out.Reset()
	ln, url, err = Opener{Dial: f.dial}.ForServer(t.Context(), testToken, local, []Console{c}, log, &out)
	if err != nil || ln == nil || !strings.Contains(out.String(), url+"/wechat") {
		t.Fatalf("ForServer = %v, %q, %v, printed %q; want a listener and the console values", ln, url, err, out.String())
	}
	ln.Close()
	if strings.Contains(logs.String(), "consoletoken1") || !strings.Contains(logs.String(), url) {
		t.Errorf("log %q; want the URL and never the callback token", logs.String())
	}
}
