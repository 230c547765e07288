// Package tunnel exposes the callback server to WeChat from a developer's
// machine: an ngrok endpoint opened in-process, whose net.Listener the HTTP
// server serves on directly, so neither a local port nor a separate ngrok
// agent is needed. It also renders the values to paste into WeChat's console
// and the help for doing without an ngrok authtoken.
//
// The part that talks to ngrok is one small Dialer (Ngrok); everything around
// it (timeouts, shutdown, keeping the authtoken out of logs and errors) is
// here, tested with a fake dialer on 127.0.0.1.
package tunnel

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Error is this package's error type; its values are constants, so no
// caller can reassign them.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrNoAuthtoken is returned by Open, before anything is dialed, when the
	// authtoken is empty. Its text tells the developer where to get one;
	// Help says what else they can do.
	ErrNoAuthtoken Error = "NGROK_AUTHTOKEN is not set: get an authtoken at " +
		"https://dashboard.ngrok.com/get-started/your-authtoken and set NGROK_AUTHTOKEN, " +
		"or point a tunnel of your own (ngrok CLI, frp, cpolar) at the server"
	// ErrConnectTimeout is returned by Open when the tunnel is not up within
	// the connect timeout, e.g. with no route to ngrok: its client retries
	// forever otherwise.
	ErrConnectTimeout Error = "tunnel not established in time (is the internet reachable?)"
)

// Default timeouts of an Opener.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
)

// Dialer opens a public HTTP endpoint and returns its listener and public
// base URL (scheme and host). ctx bounds the endpoint's whole life, not just
// the dialing: when ctx ends, the dialer aborts or closes everything it
// opened, including connections already accepted. log carries the tunnel
// library's own messages. Dialer is the seam between this package and ngrok.
type Dialer func(ctx context.Context, authtoken string, log *slog.Logger) (ln net.Listener, publicURL string, err error)

// Opener opens tunnels. Its zero value opens ngrok tunnels with the default
// timeouts; tests and other tunnel providers set Dial.
type Opener struct {
	Dial Dialer // nil means Ngrok
	// ConnectTimeout bounds dialing; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// DrainTimeout bounds how long the tunnel stays up after the listener
	// closed, for the connections already accepted; 0 means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
}

// Open dials a tunnel with authtoken and returns a listener for
// http.Server.Serve and the public base URL, e.g.
// "https://abcd-1-2-3-4.ngrok-free.app", without a trailing slash.
//
// When ctx ends or the listener is closed, the listener stops accepting at
// once, but the tunnel stays up until the connections already accepted are
// closed (at most DrainTimeout), so http.Server.Shutdown can finish the
// requests in flight. So http.Server.Serve on it returns net.ErrClosed as
// soon as ctx ends: a caller that shuts down on ctx treats that as the start
// of shutdown, not a failure (see the package example). ctx ending during
// the dial aborts it.
//
// The tunnel library logs through log, with the authtoken replaced by
// [REDACTED] wherever it appears; returned errors are scrubbed the same way.
// An empty authtoken returns ErrNoAuthtoken without dialing.
func (o Opener) Open(ctx context.Context, authtoken string, log *slog.Logger) (net.Listener, string, error) {
	if authtoken == "" {
		return nil, "", ErrNoAuthtoken
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("open tunnel: %w", context.Cause(ctx))
	}
	dial := o.Dial
	if dial == nil {
		dial = Ngrok
	}
	// life outlives ctx by the drain: ctx's end stops accepting; life's end
	// takes the tunnel down.
	life, end := context.WithCancelCause(context.WithoutCancel(ctx))
	timedOut, aborted := make(chan struct{}), make(chan struct{})
	timer := time.AfterFunc(durationOr(o.ConnectTimeout, DefaultConnectTimeout), func() {
		end(ErrConnectTimeout)
		close(timedOut)
	})
	stopAbort := context.AfterFunc(ctx, func() {
		end(context.Cause(ctx))
		close(aborted)
	})
	ln, publicURL, err := dial(life, authtoken, scrubLogger(log, authtoken))
	// Once a callback has started, wait for it, so that life's state below
	// is final: a tunnel is never ended after it was handed out.
	if !timer.Stop() {
		<-timedOut
	}
	if !stopAbort() {
		<-aborted
	}
	if cause := context.Cause(life); cause != nil { // timed out or aborted, whatever dial said
		if ln != nil {
			_ = ln.Close()
		}
		end(nil)
		return nil, "", fmt.Errorf("open tunnel: %w", cause)
	}
	if err != nil {
		end(nil)
		return nil, "", fmt.Errorf("open tunnel: %w", scrubError(err, authtoken))
	}
	publicURL, err = checkURL(publicURL)
	if err != nil {
		_ = ln.Close()
		end(nil)
		return nil, "", fmt.Errorf("open tunnel: %w", scrubError(err, authtoken))
	}
	return newListener(ctx, ln, end, durationOr(o.DrainTimeout, DefaultDrainTimeout), authtoken), publicURL, nil
}

// checkURL makes sure the dialer returned an absolute http(s) URL, since it
// is what the developer pastes into WeChat's console.
func checkURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("tunnel returned %q, not an http(s) URL", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
