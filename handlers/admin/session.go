package admin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
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
	payloadLen  = idLen + 8 + 8 // id, expiry (Unix seconds), generation; big endian
	maxLocal    = 1024          // sign-outs kept here while the store is down
	sessionPath = "/admin"
	storeWait   = 2 * time.Second
)

var b64 = base64.RawURLEncoding

// session is a verified login.
type session struct {
	id      [idLen]byte
	expires time.Time
	gen     uint64
}

// Revocations keeps sign-outs where the fleet shares state (revoke.Store):
// a revoked session until it would have expired, and the generation that
// "sign out everywhere" moves on.
type Revocations interface {
	Generation(ctx context.Context) (uint64, error)
	Check(ctx context.Context, id string) (generation uint64, revoked bool, err error)
	Revoke(ctx context.Context, id string, until time.Time) error
	NewGeneration(ctx context.Context) (uint64, error)
}

// sessions signs and checks the session cookie. The cookie holds a random
// id, an expiry and the generation it was issued under, signed with a key
// derived from the API key (or Config.SessionKey), never the API key
// itself: a leaked cookie ends with its expiry, a sign-out or a sign-out
// everywhere, the key stays secret. Every instance with the same key
// accepts the session, and sign-outs are kept in store, which the fleet
// shares (the token store's Redis or directory), so they hold there and
// after a restart.
//
// While store cannot be reached the page stays usable: sessions are checked
// against the generation last seen and the sign-outs made here meanwhile
// (bounded), which is what this instance knows.
type sessions struct {
	key    []byte
	now    func() time.Time
	secure bool
	store  Revocations
	log    *slog.Logger

	lastGen atomic.Uint64 // the generation last read from store
	// storeWarn paces the line about a failing store: every signed-in
	// request checks it, and an outage is one story, not a line a click.
	storeWarn rate.Sometimes
	mu        sync.Mutex
	local     map[[idLen]byte]time.Time // sign-outs store did not take, until their expiry
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

// generation is store's current generation, or the last one seen while
// store fails.
func (s *sessions) generation(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, storeWait)
	defer cancel()
	g, err := s.store.Generation(ctx)
	if err == nil {
		s.lastGen.Store(g)
		return g, nil
	}
	if g := s.lastGen.Load(); g != 0 {
		s.log.Warn("admin: session store unavailable; using the generation last seen", "err", err)
		return g, nil
	}
	return 0, err
}

// issue creates a session and the cookie that carries it.
func (s *sessions) issue(ctx context.Context) (*http.Cookie, error) {
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	var p [payloadLen]byte
	if _, err := rand.Read(p[:idLen]); err != nil {
		return nil, err
	}
	exp := s.now().Add(SessionTTL).Truncate(time.Second)
	binary.BigEndian.PutUint64(p[idLen:], uint64(exp.Unix()))
	binary.BigEndian.PutUint64(p[idLen+8:], gen)
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

// check verifies the session cookie of r: signed by us, not expired, of
// the current generation, not signed out.
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
	ss.gen = binary.BigEndian.Uint64(p[idLen+8:])
	if !s.now().Before(ss.expires) || s.isRevoked(r.Context(), ss) {
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

// revoke ends a session on sign-out, everywhere: the browser drops the
// cookie, and a copy taken earlier stops working on every instance and
// after a restart. If store does not take it, this instance keeps it.
func (s *sessions) revoke(ctx context.Context, ss session) {
	ctx, cancel := context.WithTimeout(ctx, storeWait)
	defer cancel()
	err := s.store.Revoke(ctx, hex.EncodeToString(ss.id[:]), ss.expires)
	if err == nil {
		return
	}
	s.log.Warn("admin: sign-out not stored; it holds on this instance only", "err", err)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.local {
		if !now.Before(exp) {
			delete(s.local, id)
		}
	}
	if len(s.local) < maxLocal {
		s.local[ss.id] = ss.expires
	}
}

// revokeAll ends every session issued so far ("sign out everywhere").
func (s *sessions) revokeAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storeWait)
	defer cancel()
	g, err := s.store.NewGeneration(ctx)
	if err != nil {
		return err
	}
	s.lastGen.Store(g)
	return nil
}

// isRevoked reports whether ss is over: of another generation than the
// store's, or signed out. While store fails: of another generation than
// the last one seen, or signed out here.
func (s *sessions) isRevoked(ctx context.Context, ss session) bool {
	ctx, cancel := context.WithTimeout(ctx, storeWait)
	defer cancel()
	gen, revoked, err := s.store.Check(ctx, hex.EncodeToString(ss.id[:]))
	if err != nil {
		s.storeWarn.Do(func() {
			s.log.Warn("admin: session store unavailable; checking against what this instance knows", "err", err)
		})
		gen, revoked = s.lastGen.Load(), false
	} else {
		s.lastGen.Store(gen)
	}
	if revoked || ss.gen != gen {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, local := s.local[ss.id]
	return local
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
