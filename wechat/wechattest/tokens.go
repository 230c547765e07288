package wechattest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

type family int

const (
	classic family = iota // /cgi-bin/token, and WeCom's /cgi-bin/gettoken
	stable                // /cgi-bin/stable_token, isolated from classic as in WeChat
	ticket                // jsapi_ticket
)

// grant is one minted credential, of one app.
type grant struct {
	app       *App
	family    family
	expiresAt time.Time
	retireAt  time.Time // zero: not replaced; else stops working at this time
}

// States of a token a call carries.
const (
	codeOK = iota
	codeInvalid
	codeExpired
)

// status reports how the API would take a call carrying tok. s.mu must be held.
func (s *Server) status(tok string, now time.Time) int {
	g, ok := s.tokens[tok]
	if !ok {
		return codeInvalid
	}
	if !g.retireAt.IsZero() && !now.Before(g.retireAt) && g.retireAt.Before(g.expiresAt) {
		return codeInvalid
	}
	if !now.Before(g.expiresAt) {
		return codeExpired
	}
	return codeOK
}

// errcodes answers a token's state with the codes of WeChat or of WeCom.
// https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
// https://developer.work.weixin.qq.com/document/path/96213
func errcodes(state int, wecom bool) (int, string) {
	switch {
	case state == codeExpired:
		return 42001, "access_token expired"
	case wecom:
		return 40014, "invalid access_token"
	}
	return 40001, "invalid credential, access_token is invalid or not latest"
}

// mint issues a new credential of family f for a. A WeChat access_token
// retires the previous one of its family after the overlap. s.mu must be held.
func (a *App) mint(f family, now time.Time) string {
	s := a.s
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	prefix := "FAKE_"
	switch {
	case f == ticket:
		prefix = "FAKETICKET_"
	case a.wecom:
		prefix = "FAKEWECOM_"
	}
	tok := prefix + hex.EncodeToString(b) // 133+ chars, like WeChat's 100+
	if prev, ok := s.tokens[a.current[f]]; ok && f != ticket && !a.wecom && prev.retireAt.IsZero() {
		prev.retireAt = now.Add(s.opts.Overlap)
	}
	s.tokens[tok] = &grant{app: a, family: f, expiresAt: now.Add(s.opts.ExpiresIn)}
	a.current[f] = tok
	if f != ticket {
		a.latest = tok
	}
	return tok
}

// usable reports whether a's current token of family f can be handed out
// again (stable_token, WeCom's gettoken). s.mu must be held.
func (a *App) usable(f family, now time.Time) bool {
	cur := a.current[f]
	return cur != "" && a.s.status(cur, now) == codeOK && a.s.tokens[cur].expiresAt.Sub(now) >= time.Second
}

// seconds renders a remaining lifetime as WeChat's expires_in.
func seconds(d time.Duration) int64 { return max(1, int64(d/time.Second)) }

// credentials finds the app of a token call and the errcode WeChat answers
// for these parameters. The app is nil for an unknown appid. s.mu must be held.
func (s *Server) credentials(grantType, appID, secret string) (*App, int, string) {
	a := s.findApp(appID)
	switch {
	case grantType != "client_credential":
		return a, 40002, "invalid grant_type"
	case appID == "":
		return a, 41002, "appid missing"
	case secret == "":
		return a, 41004, "appsecret missing"
	case a == nil:
		return a, 40013, "invalid appid"
	case secret != a.secret:
		return a, 40125, "invalid appsecret"
	}
	return a, 0, ""
}

// tokenCall attributes a token call and takes the app's injected failure:
// it returns the app and true when the call may go on, having answered
// otherwise.
func (s *Server) tokenCall(w http.ResponseWriter, r *http.Request, path, grantType, appID, secret string) (*App, bool) {
	s.mu.Lock()
	a, code, msg := s.credentials(grantType, appID, secret)
	f, fail := Failure{}, false
	if a != nil {
		f, fail = a.enter(path)
	}
	s.mu.Unlock()
	switch {
	case fail:
		s.fail(w, r, f, false)
	case code != 0:
		writeErr(w, code, msg)
	}
	return a, !fail && code == 0
}

// handleToken implements GET /cgi-bin/token: every success mints a new token.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := s.tokenCall(w, r, pathToken, q.Get("grant_type"), q.Get("appid"), q.Get("secret"))
	if !ok {
		return
	}
	s.mu.Lock()
	tok := a.mint(classic, s.opts.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": seconds(s.opts.ExpiresIn)})
}

// Limits on stable_token's force_refresh, from WeChat's documentation.
const (
	forceRefreshPerDay = 20
	forceRefreshGap    = 30 * time.Second
)

// beijing is WeChat's quota day boundary (UTC+8, no DST).
var beijing = time.FixedZone("UTC+8", 8*3600)

// handleStableToken implements POST /cgi-bin/stable_token: the current token
// comes back unchanged unless force_refresh is set, which is limited to 20 a
// day; a force within 30 s of the last one does not refresh.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html
func (s *Server) handleStableToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, 43002, "require POST method")
		return
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	a, ok := s.tokenCall(w, r, pathStableToken, req.GrantType, req.AppID, req.Secret)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	usable := a.usable(stable, now)
	if req.ForceRefresh {
		day := now.In(beijing).Format(time.DateOnly)
		n, last := 0, time.Time{}
		for _, t := range a.forced {
			if t.In(beijing).Format(time.DateOnly) == day {
				n++
			}
			last = t
		}
		if n >= forceRefreshPerDay {
			writeErr(w, 45009, "reach max api daily quota limit")
			return
		}
		a.forced = append(a.forced, now)
		// WeChat ignores a force within 30 s of the last one.
		usable = usable && !last.IsZero() && now.Sub(last) < forceRefreshGap
	}
	cur := a.current[stable]
	if !usable {
		cur = a.mint(stable, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": cur, "expires_in": seconds(s.tokens[cur].expiresAt.Sub(now))})
}

// protected checks ?access_token= the way every API of the host (WeChat's,
// or with wecom WeCom's) does, then calls h with the token's app. A token
// of the other host is unknown here, as on the real ones.
func (s *Server) protected(path string, wecom bool, h func(http.ResponseWriter, *http.Request, *App)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("access_token")
		if tok == "" {
			writeErrOn(w, wecom, 41001, "access_token missing")
			return
		}
		s.mu.Lock()
		state := s.status(tok, s.opts.Now())
		var a *App
		if g, ok := s.tokens[tok]; ok && g.family != ticket && g.app.wecom == wecom {
			a = g.app
		} else {
			state = codeInvalid
		}
		f, fail := Failure{}, false
		if a != nil {
			f, fail = a.enter(path)
		}
		s.mu.Unlock()
		switch {
		case fail:
			s.fail(w, r, f, wecom)
		case state != codeOK:
			code, msg := errcodes(state, wecom)
			writeErrOn(w, wecom, code, msg)
		default:
			h(w, r, a)
		}
	}
}
