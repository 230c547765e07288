package admin

import (
	"net/http"
	"net/url"
	"strings"
)

// caller is an authenticated request: a script with the bearer key, or a
// browser with a session cookie.
type caller struct {
	bearer bool
	sess   session
}

// loginView is the data of the "login" template.
type loginView struct {
	Error     string
	FlashKind string
	Flash     string
}

// authenticate returns the caller of r, or answers 401 with the login form
// and returns false. A present Authorization header decides alone: a
// wrong bearer key does not fall back to the cookie.
func (a *Admin) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, key, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") && a.key.Equal(strings.TrimSpace(key)) {
			return caller{bearer: true}, true
		}
		a.authFailed(r, "wrong bearer key")
		w.Header().Set("WWW-Authenticate", `Bearer realm="wxoa", error="invalid_token"`)
		a.render(w, http.StatusUnauthorized, "login", loginView{Error: "The bearer key is wrong."})
		return caller{}, false
	}
	ss, v := a.sess.check(r)
	switch v {
	case valid:
		return caller{sess: ss}, true
	case forged:
		a.authFailed(r, "invalid session cookie")
		http.SetCookie(w, a.sess.clear(SessionCookie))
		a.challenge(w, r, "Your session is not valid here (the server may have restarted): sign in again.")
	case expired:
		http.SetCookie(w, a.sess.clear(SessionCookie))
		a.challenge(w, r, "Your session has ended: sign in again.")
	default:
		a.challenge(w, r, "")
	}
	return caller{}, false
}

// challenge answers 401 with the login form: a browser shows the form, a
// script sees the status.
func (a *Admin) challenge(w http.ResponseWriter, r *http.Request, msg string) {
	kind, flash := a.sess.takeFlash(w, r)
	w.Header().Set("WWW-Authenticate", `Bearer realm="wxoa"`)
	a.render(w, http.StatusUnauthorized, "login", loginView{Error: msg, FlashKind: kind, Flash: flash})
}

// login checks the key typed into the form and starts a session. The
// cookie carries a signed session, never the key.
func (a *Admin) login(w http.ResponseWriter, r *http.Request) {
	if !a.sameOrigin(w, r) || !a.parseForm(w, r) {
		return
	}
	key := r.PostFormValue("key")
	switch {
	case key == "":
		a.challenge(w, r, "Enter the key.")
		return
	case !a.key.Equal(key):
		a.authFailed(r, "wrong key in the login form")
		a.challenge(w, r, "Wrong key.")
		return
	}
	c, err := a.sess.issue(r.Context())
	if err != nil {
		a.log.Error("admin: new session: the session store does not answer", "err", err)
		http.Error(w, "cannot start a session: the token store does not answer (see /healthz); the bearer key still works", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, c)
	a.log.Info("admin: signed in", "client", r.RemoteAddr)
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// logout ends the browser's session.
func (a *Admin) logout(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authorizePost(w, r)
	if !ok {
		return
	}
	if !c.bearer {
		a.sess.revoke(r.Context(), c.sess)
		http.SetCookie(w, a.sess.clear(SessionCookie))
		a.sess.setFlash(w, flashInfo, "Signed out.")
		a.log.Info("admin: signed out", "client", r.RemoteAddr)
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// logoutAll ends every session, on every instance sharing the store: after
// a cookie may have leaked, or a person with access left. The caller is
// signed out too.
func (a *Admin) logoutAll(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authorizePost(w, r)
	if !ok {
		return
	}
	if err := a.sess.revokeAll(r.Context()); err != nil {
		a.log.Error("admin: sign out everywhere failed: the session store does not answer", "err", err)
		a.sess.setFlash(w, flashErr, "Not signed out everywhere: the token store does not answer (see /healthz). Try again.")
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	}
	by := "session"
	if c.bearer {
		by = "bearer"
	}
	a.log.Warn("admin: every session signed out", "client", r.RemoteAddr, "by", by)
	http.SetCookie(w, a.sess.clear(SessionCookie))
	a.sess.setFlash(w, flashInfo, "Signed out everywhere: every session on every instance has ended.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// authorizePost admits a state-changing request: same origin, an
// authenticated caller and, for a browser session, its CSRF token.
// Scripts with the bearer key need no token: a browser never attaches that
// header to a cross-site request.
func (a *Admin) authorizePost(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if !a.sameOrigin(w, r) {
		return caller{}, false
	}
	c, ok := a.authenticate(w, r)
	if !ok || c.bearer {
		return c, ok
	}
	if !a.parseForm(w, r) {
		return caller{}, false
	}
	if !a.sess.csrfOK(c.sess, r.PostFormValue("csrf")) {
		a.log.Warn("admin: CSRF token missing or wrong", "client", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "forbidden: missing or wrong CSRF token; reload the page and try again", http.StatusForbidden)
		return caller{}, false
	}
	return c, true
}

// sameOrigin refuses a POST whose Origin or, without one, Referer names
// another host, defence in depth behind the CSRF token. Requests from
// scripts carry neither and pass. X-Forwarded-Host is accepted as this
// host's name too: a cross-site page cannot set it.
func (a *Admin) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return true
	}
	if u, err := url.Parse(from); err == nil && u.Host != "" {
		fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
		if strings.EqualFold(u.Host, r.Host) || (fwd != "" && strings.EqualFold(u.Host, strings.TrimSpace(fwd))) {
			return true
		}
	}
	a.log.Warn("admin: cross-origin POST refused", "client", r.RemoteAddr, "path", r.URL.Path)
	http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
	return false
}

// parseForm reads a small form body; a larger one is refused.
func (a *Admin) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request: unreadable form", http.StatusBadRequest)
		return false
	}
	return true
}
