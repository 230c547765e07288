package api

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// attemptErr is an attempt that got no answer, said plainly: what happened
// (refused, reset, DNS, timed out ...) and after how long it really took,
// so that a log line or the admin page tells a WeChat that refused a
// connection in 4 ms from one that stayed silent for 10 s. It unwraps to
// the transport's error, so errors.Is still sees context.DeadlineExceeded
// for a timeout and context.Canceled for a caller who left.
type attemptErr struct {
	what    string        // "connection refused", "timed out", ...
	why     string        // whose deadline, for a timeout; may be ""
	elapsed time.Duration // from the attempt's start to its failure
	err     error
}

func (e *attemptErr) Error() string {
	d := e.elapsed.Round(time.Millisecond)
	if d == 0 {
		d = e.elapsed.Round(time.Microsecond)
	}
	s := e.what + " after " + d.String()
	if e.why != "" {
		s += " (" + e.why + ")"
	}
	return s + ": " + e.err.Error()
}

func (e *attemptErr) Unwrap() error { return e.err }

// describeFailure wraps err, an attempt's failure after elapsed, in an
// attemptErr. ctx is the attempt's context and parent the request's; both
// are read before the attempt's own cancel, which would make every failure
// look like its deadline.
func describeFailure(err error, elapsed time.Duration, ctx, parent context.Context, bound time.Duration) error {
	e := &attemptErr{what: "request failed", elapsed: elapsed, err: err}
	var (
		dns  *net.DNSError
		nerr net.Error
		cert *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		e.what = "canceled by the caller"
	case parent.Err() != nil:
		e.what, e.why = "timed out", "the caller's deadline"
	case ctx.Err() != nil:
		e.what, e.why = "timed out", "the attempt's "+bound.String()+" bound"
	case errors.As(err, &dns):
		e.what = "DNS lookup failed"
		if dns.IsNotFound {
			e.what += ": no such host"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		e.what = "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		e.what = "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.what = "connection closed before an answer"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		e.what = "no route to host"
	case errors.As(err, &cert):
		e.what = "TLS certificate rejected"
	case errors.As(err, &nerr) && nerr.Timeout():
		// A dial, TLS handshake or response header timeout of Base.
		e.what = "timed out"
	}
	return e
}
