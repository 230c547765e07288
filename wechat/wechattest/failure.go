package wechattest

import (
	"net/http"
	"strconv"
)

// Failure is a way for a call to fail. Use the Fail* values or FailCode.
type Failure struct {
	code   int  // errcode answered with HTTP 200
	status int  // HTTP status without a WeChat body
	hang   bool // block until the client gives up or the server closes
	msg    string
}

// The failures WeChat's token endpoints are known for.
var (
	// FailBusy answers errcode -1, which clients should retry.
	FailBusy = Failure{code: -1, msg: "system error"}
	// FailQuota answers 45009, the daily quota being used up.
	FailQuota = Failure{code: 45009, msg: "reach max api daily quota limit"}
	// FailServerError answers HTTP 502 with an HTML body, like a gateway would.
	FailServerError = Failure{status: http.StatusBadGateway}
	// FailHang never answers: the handler blocks until the request's context
	// ends (the client timed out or hung up) or the server closes.
	FailHang = Failure{hang: true}
	// FailIPWhitelist answers 40164 with the caller's IP in errmsg, as WeChat does.
	FailIPWhitelist = Failure{code: 40164, msg: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist"}
)

// FailCode answers errcode code with HTTP 200.
func FailCode(code int) Failure {
	return Failure{code: code, msg: "wechattest injected errcode " + strconv.Itoa(code)}
}

type failRule struct {
	f Failure
	n int // calls left; negative: until Heal
}

func (r *failRule) take() (Failure, bool) {
	if r.n == 0 {
		return Failure{}, false
	}
	if r.n > 0 {
		r.n--
	}
	return r.f, true
}

// Fail makes the next n calls to /cgi-bin/token and /cgi-bin/stable_token
// fail with f (n < 0: every call until Heal). It replaces an earlier Fail.
func (s *Server) Fail(f Failure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail = failRule{f: f, n: n}
}

// FailPath makes the next n calls to path fail with f (n < 0: until Heal),
// for endpoints other than the token ones (the ticket, menu, message and
// server-IP APIs).
func (s *Server) FailPath(path string, f Failure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pathFail[path] = failRule{f: f, n: n}
}

// Heal removes every injected failure. Requests already hanging keep hanging
// until their clients give up.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail = failRule{}
	clear(s.pathFail)
}

// takeFailure consumes one injected failure for path. s.mu must be held.
func (s *Server) takeFailure(path string) (Failure, bool) {
	if r, ok := s.pathFail[path]; ok {
		f, fail := r.take()
		s.pathFail[path] = r
		if fail {
			return f, true
		}
	}
	if path == pathToken || path == pathStableToken {
		return s.tokenFail.take()
	}
	return Failure{}, false
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, f Failure) {
	switch {
	case f.hang:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
	case f.status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte("<html><body>" + http.StatusText(f.status) + "</body></html>"))
	default:
		writeErr(w, f.code, f.msg)
	}
}
