package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxoa/internal/revoke"
)

// A sign-out holds on every instance sharing the store, and after a
// restart (a new Admin over the same store).
func TestSignOutHoldsAcrossInstancesAndRestarts(t *testing.T) {
	shared := sharedRevocations(t)
	a, b := newEnv(t, shared), newEnv(t, shared)
	c, csrf := a.login(t)
	if got := b.do("GET", "/admin", nil, withCookie(c)).Code; got != 200 {
		t.Fatalf("B with A's session = %d; want 200", got)
	}
	a.do("POST", "/admin/logout", url.Values{"csrf": {csrf}}, withCookie(c))
	if got := b.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
		t.Errorf("B with the cookie A signed out = %d; want 401", got)
	}
	restarted := newEnv(t, shared)
	if got := restarted.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
		t.Errorf("a restarted instance with the signed-out cookie = %d; want 401", got)
	}
	// Other sessions are untouched.
	other, _ := b.login(t)
	if got := a.do("GET", "/admin", nil, withCookie(other)).Code; got != 200 {
		t.Errorf("A with another, live session = %d; want 200", got)
	}
}

// "Sign out everywhere" ends every session, on every instance.
func TestSignOutEverywhere(t *testing.T) {
	shared := sharedRevocations(t)
	a, b := newEnv(t, shared), newEnv(t, shared)
	c1, csrf := a.login(t)
	c2, _ := b.login(t)
	if w := a.do("POST", "/admin/logout-all", url.Values{}, withCookie(c1)); w.Code != http.StatusForbidden {
		t.Errorf("POST /admin/logout-all without the CSRF token = %d; want 403", w.Code)
	}
	w := a.do("POST", "/admin/logout-all", url.Values{"csrf": {csrf}}, withCookie(c1))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST /admin/logout-all = %d; want 303", w.Code)
	}
	for _, c := range []*http.Cookie{c1, c2} {
		for _, e := range []*env{a, b} {
			if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
				t.Errorf("a session from before the sign-out everywhere = %d; want 401", got)
			}
		}
	}
	c3, _ := b.login(t)
	if got := a.do("GET", "/admin", nil, withCookie(c3)).Code; got != 200 {
		t.Errorf("a session started after it = %d; want 200", got)
	}
	if body := a.do("GET", "/admin", nil, withCookie(cookieNamed(w, flashCookie))).Body.String(); !strings.Contains(body, "Signed out everywhere") {
		t.Errorf("the page after it does not say so:\n%s", body)
	}
	// A script with the bearer key may do it too.
	if w := a.do("POST", "/admin/logout-all", nil, bearer(testKey)); w.Code != http.StatusSeeOther {
		t.Errorf("POST /admin/logout-all with the bearer key = %d; want 303", w.Code)
	}
	if got := a.do("GET", "/admin", nil, withCookie(c3)).Code; got != 401 {
		t.Errorf("a session after a bearer's sign out everywhere = %d; want 401", got)
	}
}

// More sign-outs than the store keeps entries still each revoke: past the
// bound, the generation moves on (everyone signs in again) rather than a
// sign-out being dropped.
func TestManySignOutsStillRevoke(t *testing.T) {
	e := newEnv(t) // the memory store: the file's bound is revoke's test
	var last *http.Cookie
	for i := range revoke.MaxEntries + 100 {
		c, csrf := e.login(t)
		e.do("POST", "/admin/logout", url.Values{"csrf": {csrf}}, withCookie(c))
		if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
			t.Fatalf("sign-out %d did not revoke its session (%d)", i+1, got)
		}
		last = c
	}
	if got := e.do("GET", "/admin", nil, withCookie(last)).Code; got != 401 {
		t.Errorf("the last signed-out session = %d; want 401", got)
	}
}

// flakyStore fails while down is set.
type flakyStore struct {
	Revocations
	down bool
}

var errDown = errors.New("store down")

func (f *flakyStore) Generation(ctx context.Context) (uint64, error) {
	if f.down {
		return 0, errDown
	}
	return f.Revocations.Generation(ctx)
}

func (f *flakyStore) Check(ctx context.Context, id string) (uint64, bool, error) {
	if f.down {
		return 0, false, errDown
	}
	return f.Revocations.Check(ctx, id)
}

func (f *flakyStore) Revoke(ctx context.Context, id string, until time.Time) error {
	if f.down {
		return errDown
	}
	return f.Revocations.Revoke(ctx, id, until)
}

// While the store does not answer, the page stays usable with what this
// instance knows, and a sign-out made meanwhile holds here.
func TestStoreDownKeepsThePageUsable(t *testing.T) {
	fs := &flakyStore{}
	e := newEnv(t, sharedRevocations(t), func(c *testCfg) { fs.Revocations = c.Revocations; c.Revocations = fs })
	c, csrf := e.login(t)
	fs.down = true
	if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 200 {
		t.Errorf("GET /admin while the store is down = %d; want 200 (the generation last seen)", got)
	}
	c2, _ := e.login(t)
	e.do("POST", "/admin/logout", url.Values{"csrf": {csrf}}, withCookie(c))
	if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
		t.Errorf("a session signed out while the store is down = %d; want 401 here", got)
	}
	if got := e.do("GET", "/admin", nil, withCookie(c2)).Code; got != 200 {
		t.Errorf("a session started while the store was down = %d; want 200", got)
	}
}
