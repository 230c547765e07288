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
	classic family = iota // /cgi-bin/token
	stable                // /cgi-bin/stable_token, isolated from classic as in WeChat
	ticket                // jsapi_ticket
)

// grant is one minted credential.
type grant struct {
	family    family
	expiresAt time.Time
	retireAt  time.Time // zero: not replaced; else stops working at this time
}

// Codes a token check answers.
const (
	codeOK      = 0
	codeInvalid = 40001
	codeExpired = 42001
)

// status reports how WeChat would answer a call carrying tok. s.mu must be held.
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

// mint issues a new credential of family f and retires the previous one after
// the overlap. s.mu must be held.
func (s *Server) mint(f family, now time.Time) string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	prefix := "FAKE_"
	if f == ticket {
		prefix = "FAKETICKET_"
	}
	tok := prefix + hex.EncodeToString(b) // 133+ chars, like WeChat's 100+
	if prev, ok := s.tokens[s.current[f]]; ok && f != ticket && prev.retireAt.IsZero() {
		prev.retireAt = now.Add(s.opts.Overlap)
	}
	s.tokens[tok] = &grant{family: f, expiresAt: now.Add(s.opts.ExpiresIn)}
	s.current[f] = tok
	if f != ticket {
		s.latest = tok
	}
	return tok
}

// seconds renders a remaining lifetime as WeChat's expires_in.
func seconds(d time.Duration) int64 { return max(1, int64(d/time.Second)) }

// checkCredentials returns the errcode WeChat answers for these parameters.
func (s *Server) checkCredentials(grantType, appID, secret string) (int, string) {
	switch {
	case grantType != "client_credential":
		return 40002, "invalid grant_type"
	case appID == "":
		return 41002, "appid missing"
	case secret == "":
		return 41004, "appsecret missing"
	case appID != s.opts.AppID:
		return 40013, "invalid appid"
	case secret != s.opts.AppSecret:
		return 40125, "invalid appsecret"
	}
	return 0, ""
}

// handleToken implements GET /cgi-bin/token: every success mints a new token.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code, msg := s.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		writeErr(w, code, msg)
		return
	}
	s.mu.Lock()
	tok := s.mint(classic, s.opts.Now())
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
	if code, msg := s.checkCredentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		writeErr(w, code, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	cur := s.current[stable]
	usable := cur != "" && s.status(cur, now) == codeOK && s.tokens[cur].expiresAt.Sub(now) >= time.Second
	if req.ForceRefresh {
		day := now.In(beijing).Format(time.DateOnly)
		n, last := 0, time.Time{}
		for _, t := range s.forced {
			if t.In(beijing).Format(time.DateOnly) == day {
				n++
			}
			last = t
		}
		if n >= forceRefreshPerDay {
			writeErr(w, 45009, "reach max api daily quota limit")
			return
		}
		s.forced = append(s.forced, now)
		// WeChat ignores a force within 30 s of the last one.
		usable = usable && !last.IsZero() && now.Sub(last) < forceRefreshGap
	}
	if !usable {
		cur = s.mint(stable, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": cur, "expires_in": seconds(s.tokens[cur].expiresAt.Sub(now))})
}

// protected checks ?access_token= the way every WeChat API does before
// calling h.
func (s *Server) protected(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		writeErr(w, 41001, "access_token missing")
		return
	}
	s.mu.Lock()
	code := s.status(tok, s.opts.Now())
	if g, ok := s.tokens[tok]; ok && g.family == ticket {
		code = codeInvalid
	}
	s.mu.Unlock()
	switch code {
	case codeInvalid:
		writeErr(w, 40001, "invalid credential, access_token is invalid or not latest")
	case codeExpired:
		writeErr(w, 42001, "access_token expired")
	default:
		h(w, r)
	}
}

// Valid reports whether tok (an access_token or a ticket) would be accepted now.
func (s *Server) Valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(tok, s.opts.Now()) == codeOK
}

// Current returns the access_token minted last (classic or stable), or "".
func (s *Server) Current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Expire makes tok expired: calls carrying it get 42001.
func (s *Server) Expire(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.tokens[tok]; ok {
		g.expiresAt = s.opts.Now()
	}
}

// Invalidate makes the given tokens invalid at once (40001), as a leaked
// token being revoked would be. With no arguments it invalidates every
// access_token minted so far.
func (s *Server) Invalidate(toks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if len(toks) == 0 {
		for _, g := range s.tokens {
			if g.family != ticket {
				g.retireAt = now
			}
		}
		return
	}
	for _, tok := range toks {
		if g, ok := s.tokens[tok]; ok {
			g.retireAt = now
		}
	}
}

// FetchElsewhere simulates another system calling /cgi-bin/token with our
// appid: it mints a new classic access_token and retires the previous
// classic one at once rather than after the overlap, the harshest case, which
// a token manager must recover from by refreshing. Stable tokens are
// untouched, as in WeChat. It is not one of our calls: Calls and TokenCalls
// do not change and injected failures do not apply. It returns the new
// token, which Current then returns too.
func (s *Server) FetchElsewhere() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	prev, hadPrev := s.tokens[s.current[classic]]
	tok := s.mint(classic, now)
	if hadPrev && prev.retireAt.After(now) { // mint gave it the overlap
		prev.retireAt = now
	}
	return tok
}
