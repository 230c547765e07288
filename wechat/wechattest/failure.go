package wechattest

import (
	"net/http"
	"strconv"
)

// Failure is a way for a call to fail. Use the Fail* values or FailCode.
// Each answers as the host of the call would: a WeCom call gets WeCom's
// errcode where it differs from WeChat's.
type Failure struct {
	code   int  // errcode answered with HTTP 200
	status int  // HTTP status without a WeChat body
	hang   bool // block until the client gives up or the server closes
	msg    string
	// WeCom's errcode and errmsg for the same failure; zero: as WeChat's.
	weComCode int
	weComMsg  string
}

// The failures WeChat's token endpoints are known for.
var (
	// FailBusy answers errcode -1, which clients should retry.
	FailBusy = Failure{code: -1, msg: "system error", weComMsg: "system busy"}
	// FailQuota answers 45009: WeChat's daily quota, WeCom's call
	// frequency limit, being used up.
	FailQuota = Failure{code: 45009, msg: "reach max api daily quota limit", weComMsg: "api freq out of limit"}
	// FailServerError answers HTTP 502 with an HTML body, like a gateway would.
	FailServerError = Failure{status: http.StatusBadGateway}
	// FailHang never answers: the handler blocks until the request's context
	// ends (the client timed out or hung up) or the server closes.
	FailHang = Failure{hang: true}
	// FailIPWhitelist answers WeChat's 40164, or WeCom's 60020, with the
	// caller's IP in errmsg, as they do.
	FailIPWhitelist = Failure{code: 40164, msg: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
		weComCode: 60020, weComMsg: "not allow to access from your ip, from ip: 203.0.113.7"}
)

// FailCode answers errcode code with HTTP 200, on either host.
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

// Fail makes the next n calls to the token endpoints (/cgi-bin/token,
// /cgi-bin/stable_token, WeCom's /cgi-bin/gettoken), whichever app makes
// them, fail with f (n < 0: every call until Heal). It replaces an earlier
// Fail. App.Fail fails one app's.
func (s *Server) Fail(f Failure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail = failRule{f: f, n: n}
}

// FailPath makes the next n calls to path, whichever app makes them, fail
// with f (n < 0: until Heal), for endpoints other than the token ones (the
// ticket, menu, message and server-IP APIs). Path is the API's, the same on
// both hosts (e.g. "/cgi-bin/get_api_domain_ip").
func (s *Server) FailPath(path string, f Failure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pathFail[path] = failRule{f: f, n: n}
}

// Heal removes every injected failure, the apps' too. Requests already
// hanging keep hanging until their clients give up.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail = failRule{}
	clear(s.pathFail)
	for _, a := range s.apps {
		a.heal()
	}
}

// Fail makes the app's next n calls to its token endpoint fail with f (n <
// 0: until Heal), leaving every other app's alone: one account can answer
// 45009 while the others work. Calls with a wrong appid or secret are no
// app's and do not consume it. It replaces an earlier Fail of the app.
func (a *App) Fail(f Failure, n int) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.tokenFail = failRule{f: f, n: n}
}

// FailPath makes the app's next n calls to path (carrying its token) fail
// with f (n < 0: until Heal).
func (a *App) FailPath(path string, f Failure, n int) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.pathFail[path] = failRule{f: f, n: n}
}

// Heal removes the failures injected into the app.
func (a *App) Heal() {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.heal()
}

func (a *App) heal() {
	a.tokenFail = failRule{}
	clear(a.pathFail)
}

// takeFailure consumes one injected failure for path from rules and, on a
// token endpoint, tokenRule. The lock guarding them must be held.
func takeFailure(rules map[string]failRule, tokenRule *failRule, path string) (Failure, bool) {
	if r, ok := rules[path]; ok {
		f, fail := r.take()
		rules[path] = r
		if fail {
			return f, true
		}
	}
	if isTokenPath(path) {
		return tokenRule.take()
	}
	return Failure{}, false
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, f Failure, wecom bool) {
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
	case wecom:
		code, msg := f.code, f.msg
		if f.weComCode != 0 {
			code = f.weComCode
		}
		if f.weComMsg != "" {
			msg = f.weComMsg
		}
		writeErrOn(w, true, code, msg)
	default:
		writeErr(w, f.code, f.msg)
	}
}
