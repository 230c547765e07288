package wechattest

// What happens to tokens besides the calls: expiry, revocation, and
// another system fetching with the same credentials.

// Valid reports whether tok (an access_token or a ticket) would be accepted now.
func (s *Server) Valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(tok, s.opts.Now()) == codeOK
}

// Expire makes tok expired: calls carrying it get 42001.
func (s *Server) Expire(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.tokens[tok]; ok {
		g.expiresAt = s.opts.Now()
	}
}

// Invalidate makes the given tokens invalid at once (40001, or WeCom's
// 40014), as a leaked token being revoked would be. With no arguments it
// invalidates every access_token minted so far, of every app.
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

// FetchElsewhere is the default app's FetchElsewhere.
func (s *Server) FetchElsewhere() string { return s.def.FetchElsewhere() }

// FetchElsewhere simulates another system fetching a token with the app's
// credentials. For an Official Account or Mini Program it calls
// /cgi-bin/token: it mints a new classic access_token and retires the
// previous classic one at once rather than after the overlap, the harshest
// case, which a token manager must recover from by refreshing; stable
// tokens are untouched, as in WeChat. For WeCom it calls gettoken, which
// hands out the current token while it is valid and retires nothing. It is
// not one of our calls: Calls and TokenCalls do not change and injected
// failures do not apply. It returns the token the other system got, which
// Current then returns too.
func (a *App) FetchElsewhere() string {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if a.wecom {
		if a.usable(classic, now) {
			return a.current[classic]
		}
		return a.mint(classic, now)
	}
	prev, hadPrev := s.tokens[a.current[classic]]
	tok := a.mint(classic, now)
	if hadPrev && prev.retireAt.After(now) { // mint gave it the overlap
		prev.retireAt = now
	}
	return tok
}

// Invalidate makes every access_token of the app invalid at once (WeChat's
// 40001, WeCom's 40014), as a revoked token would be.
func (a *App) Invalidate() {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for _, g := range s.tokens {
		if g.app == a && g.family != ticket {
			g.retireAt = now
		}
	}
}
