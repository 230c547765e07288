// Package harness runs `wxoa serve` in-process on a free 127.0.0.1 port,
// waits until /healthz answers, and stops it: the one way the demo and the
// end-to-end tests start a server. It takes the command line as a function
// (main's run) so that nothing here imports the main package.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// CLI is main's run: the whole command line of the binary.
type CLI func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error

// Server is a running `wxoa serve`.
type Server struct {
	Base   string       // http://127.0.0.1:PORT
	Client *http.Client // its own connection pool, closed by Stop
	Vars   map[string]string

	stop context.CancelFunc
	done chan struct{} // closed when serve has returned err
	err  error
}

// Start runs `serve` with vars as its whole environment — LISTEN_ADDR is set
// to a free 127.0.0.1 port if vars has none — writing its logs to stderr,
// and returns once /healthz answers 200 (or the server exits, or ctx ends,
// or 10 s pass).
func Start(ctx context.Context, cli CLI, vars map[string]string, stderr io.Writer) (*Server, error) {
	v := make(map[string]string, len(vars)+1)
	for k, val := range vars {
		v[k] = val
	}
	if v["LISTEN_ADDR"] == "" {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		v["LISTEN_ADDR"] = addr
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{Base: "http://" + v["LISTEN_ADDR"], Client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		Vars: v, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = cli(sctx, []string{"wxoa", "serve"}, func(k string) string { return v[k] }, strings.NewReader(""), io.Discard, stderr)
	}()
	if err := s.waitHealthy(ctx); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// Stop shuts the server down gracefully and returns what serve returned.
// Calling it again returns nil.
func (s *Server) Stop() error {
	if s.stop == nil {
		return nil
	}
	// A connection dialled but never used counts as active for up to 5 s
	// in http.Server.Shutdown; closing ours first keeps the stop prompt.
	s.Client.CloseIdleConnections()
	s.stop()
	s.stop = nil
	select {
	case <-s.done:
		return s.err
	case <-time.After(20 * time.Second):
		return errors.New("harness: the server did not stop within 20s")
	}
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if Probe(ctx, s.Client, s.Base) == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("harness: the server stopped before it was ready: %w", s.err)
		case <-ctx.Done():
			return fmt.Errorf("harness: the server did not become ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Probe asks base's /healthz once: nil if it answers 200 ("degraded"
// included: the server still serves). `wxoa health` and Start use it.
func Probe(ctx context.Context, client *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered HTTP %d", resp.StatusCode)
	}
	return nil
}
