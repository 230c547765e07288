package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie names. Both are scoped to Path=/admin.
const (
	SessionCookie = "wxoa_admin"
	flashCookie   = "wxoa_admin_flash"
)

// SessionTTL is how long a login lasts: a working day, so a forgotten tab
// does not stay signed in forever.
const SessionTTL = 12 * time.Hour

const (
	idLen       = 16
	payloadLen  = idLen + 8 // id, expiry (Unix seconds, big endian)
	maxRevoked  = 1024      // logouts remembered until their sessions expire
	sessionPath = "/admin"
)

var b64 = base64.RawURLEncoding

// session is a verified login.
type session struct {
	id      [idLen]byte
	expires time.Time
}

// sessions signs and checks the session cookie. The cookie holds a random
// id and an expiry signed with a key derived from the API key (or
// Config.SessionKey), never the API key itself: a leaked cookie ends with
// its expiry or a logout, the key stays secret. Every instance with the same
// key accepts the session; a logout is remembered by the instance that
// served it, and the browser drops the cookie.
type sessions struct {
	key    []byte
	now    func() time.Time
	secure bool

	mu      sync.Mutex
	revoked map[[idLen]byte]time.Time // logged-out ids until their expiry
}

// mac is HMAC-SHA256 over a purpose label and data, so a value signed for
// one purpose (a session, a CSRF token, a flash) never verifies as another.
func (s *sessions) mac(purpose string, data []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

// issue creates a session and the cookie that carries it.
func (s *sessions) issue() (*http.Cookie, error) {
	var p [payloadLen]byte
	if _, err := rand.Read(p[:idLen]); err != nil {
		return nil, err
	}
	exp := s.now().Add(SessionTTL).Truncate(time.Second)
	binary.BigEndian.PutUint64(p[idLen:], uint64(exp.Unix()))
	v := b64.EncodeToString(p[:]) + "." + b64.EncodeToString(s.mac("session", p[:]))
	c := s.cookie(SessionCookie, v)
	c.Expires = exp
	c.MaxAge = int(SessionTTL / time.Second)
	return c, nil
}

// verdict is what a session cookie turned out to be.
type verdict int

const (
	noCookie verdict = iota
	valid
	expired // signed by us but over: not an attack
	forged  // not signed by us (or by a previous process): worth a warning
)

// check verifies the session cookie of r.
func (s *sessions) check(r *http.Request) (session, verdict) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return session{}, noCookie
	}
	enc, sig, ok := strings.Cut(c.Value, ".")
	p, err1 := b64.DecodeString(enc)
	m, err2 := b64.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || len(p) != payloadLen || !hmac.Equal(m, s.mac("session", p)) {
		return session{}, forged
	}
	var ss session
	copy(ss.id[:], p)
	ss.expires = time.Unix(int64(binary.BigEndian.Uint64(p[idLen:])), 0)
	if !s.now().Before(ss.expires) || s.isRevoked(ss.id) {
		return session{}, expired
	}
	return ss, valid
}

// csrf is the session's anti-CSRF token: derived, so nothing is stored,
// and bound to the session, so one from another login does not pass.
func (s *sessions) csrf(ss session) string {
	return b64.EncodeToString(s.mac("csrf", ss.id[:]))
}

// csrfOK compares a submitted token in constant time.
func (s *sessions) csrfOK(ss session, got string) bool {
	m, err := b64.DecodeString(got)
	return err == nil && hmac.Equal(m, s.mac("csrf", ss.id[:]))
}

// revoke ends a session on logout: the browser drops the cookie, and a copy
// of it taken earlier stops working here too.
func (s *sessions) revoke(ss session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	if len(s.revoked) < maxRevoked {
		s.revoked[ss.id] = ss.expires
	}
}

func (s *sessions) isRevoked(id [idLen]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[id]
	return ok
}

// cookie returns a cookie with the attributes every admin cookie has.
func (s *sessions) cookie(name, value string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: sessionPath,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure,
	}
}

// clear returns a cookie that deletes name.
func (s *sessions) clear(name string) *http.Cookie {
	c := s.cookie(name, "")
	c.MaxAge = -1
	return c
}

// flash kinds, shown as badges.
const (
	flashOK   = "ok"
	flashInfo = "info"
	flashErr  = "error"
)

// maxFlash keeps the flash cookie far below browsers' 4 KiB limit.
const maxFlash = 600

// setFlash carries the outcome of a POST across its redirect. It is signed
// so that nothing but this handler can put words on the page.
func (s *sessions) setFlash(w http.ResponseWriter, kind, msg string) {
	if len(msg) > maxFlash {
		msg = strings.ToValidUTF8(msg[:maxFlash], "") + "…"
	}
	p := []byte(kind + "\x00" + msg)
	c := s.cookie(flashCookie, b64.EncodeToString(p)+"."+b64.EncodeToString(s.mac("flash", p)))
	c.MaxAge = 60
	http.SetCookie(w, c)
}

// takeFlash returns the flash of r, if any, and deletes it.
func (s *sessions) takeFlash(w http.ResponseWriter, r *http.Request) (kind, msg string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, s.clear(flashCookie))
	enc, sig, _ := strings.Cut(c.Value, ".")
	p, err1 := b64.DecodeString(enc)
	m, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(m, s.mac("flash", p)) {
		return "", ""
	}
	kind, msg, _ = strings.Cut(string(p), "\x00")
	return kind, msg
}
