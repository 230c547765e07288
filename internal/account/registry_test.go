package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/internal/metrics"
	"wxoa/reply"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

// rig is what a registry under test is built with: a server configuration
// with a file token store in a temporary directory, the shared parts of a
// server, and one fake WeChat per account.
type rig struct {
	cfg  *config.Config
	sh   Shared
	dir  string
	fake map[string]*wechattest.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.FromMap(map[string]string{"WECHAT_TOKEN": "rigtoken", "TOKEN_STORE": "file:" + filepath.Join(dir, "access_token.json")})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fwd, err := reply.NewForwarder(reply.ForwardConfig{Client: wechattest.NewServer(t).Client(), Deadline: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fwd.Shutdown(context.Background()) })
	hub := token.NewHub(nil, log)
	t.Cleanup(func() { hub.Close() })
	return &rig{cfg: cfg, dir: dir, fake: map[string]*wechattest.Server{}, sh: Shared{
		Config: cfg, Logger: log, Hub: hub, PerAccountFiles: true, Metrics: metrics.New(),
		Dedup: dedup.NewMemory(dedup.MemoryConfig{TTL: time.Minute}), Forwarder: fwd,
	}}
}

// spec is an account of kind against a fake WeChat of its own (made on
// first use of name), with a callback.
func (r *rig) spec(t *testing.T, name string, kind config.Kind) config.Account {
	t.Helper()
	f, ok := r.fake[name]
	if !ok {
		f = wechattest.NewServer(t, func(o *wechattest.Options) { o.AppID, o.AppSecret = "wx"+name+"0000000000", name+"secret" })
		r.fake[name] = f
	}
	base, _ := url.Parse(f.URL)
	return config.Account{Name: name, Kind: kind, AppID: f.AppID(), Secret: wechat.Secret(f.AppSecret()), Mode: "classic",
		Token: wechat.Secret("cbtoken" + name), CallbackPath: "/wechat/" + name, APIBase: base, DailyLimit: 2000}
}

func (r *rig) open(t *testing.T, specs ...config.Account) *Registry {
	t.Helper()
	reg, err := Open(specs, r.sh, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func tokenOf(t *testing.T, reg *Registry, name string) string {
	t.Helper()
	a, ok := reg.Lookup(name)
	if !ok {
		t.Fatalf("no account %s", name)
	}
	v, err := a.Tokens.Token(context.Background())
	if err != nil {
		t.Fatalf("%s token: %v", name, err)
	}
	return v
}

func TestAccountsOwnTheirTokens(t *testing.T) {
	r := newRig(t)
	reg := r.open(t, r.spec(t, "oa", config.KindOfficialAccount), r.spec(t, "mp", config.KindMiniProgram))
	oa, mp := tokenOf(t, reg, "oa"), tokenOf(t, reg, "mp")
	if oa == mp || !r.fake["oa"].Valid(oa) || !r.fake["mp"].Valid(mp) {
		t.Errorf("tokens %.12s, %.12s; want each account's own, valid at its WeChat", oa, mp)
	}
	for _, name := range []string{"oa", "mp"} {
		if n := r.fake[name].TokenCalls(); n != 1 {
			t.Errorf("%s fetched %d times; want 1", name, n)
		}
	}
	// One file per account, beside TOKEN_STORE's path, mode 0600.
	for _, f := range []string{"access_token.wxoa0000000000.json", "access_token.wxmp0000000000.json"} {
		fi, err := os.Stat(filepath.Join(r.dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("token file %s: %v, %v; want it, mode 0600", f, fi, err)
		}
	}
	oaAcct, _ := reg.Lookup("oa")
	mpAcct, _ := reg.Lookup("mp")
	switch {
	case oaAcct.Tickets == nil || oaAcct.Surface.JSSDK == nil:
		t.Error("the Official Account has no jsapi_ticket; want one")
	case mpAcct.Tickets != nil || mpAcct.Surface.JSSDK != nil:
		t.Error("the Mini Program has a jsapi_ticket; the JS-SDK is an Official Account's")
	}
}

func TestReload(t *testing.T) {
	r := newRig(t)
	oa, mp := r.spec(t, "oa", config.KindOfficialAccount), r.spec(t, "mp", config.KindMiniProgram)
	reg := r.open(t, oa, mp)
	tokOA, tokMP := tokenOf(t, reg, "oa"), tokenOf(t, reg, "mp")
	before := map[string]*Account{}
	for _, a := range reg.All() {
		before[a.Name()] = a
	}
	reload := func(specs ...config.Account) Change {
		t.Helper()
		ch, err := reg.Reload(specs, nil)
		if err != nil {
			t.Fatalf("Reload: %v", err)
		}
		return ch
	}

	if ch := reload(oa, mp); ch.Unchanged != 2 || len(ch.Added)+len(ch.Removed)+len(ch.Rebuilt) != 0 {
		t.Errorf("the same accounts again: %v; want 2 unchanged", ch)
	}
	// A line added above them in the file moves them, and changes nothing.
	oa.Source, mp.Source = "accounts.yaml:3", "accounts.yaml:12"
	if ch := reload(oa, mp); ch.Unchanged != 2 || len(ch.Added)+len(ch.Removed)+len(ch.Rebuilt) != 0 {
		t.Errorf("the same accounts a line lower in the file: %v; want 2 unchanged", ch)
	}
	for name, a := range before {
		if got, _ := reg.Lookup(name); got != a {
			t.Errorf("%s was rebuilt by a reload that changed nothing", name)
		}
	}

	oa2 := oa
	oa2.Token = "newcbtoken"
	ch := reload(oa2, mp)
	now, _ := reg.Lookup("oa")
	if !slices.Equal(ch.Rebuilt, []string{"oa"}) || !slices.Equal(ch.TokensKept, []string{"oa"}) || now == before["oa"] || now.Tokens != before["oa"].Tokens {
		t.Errorf("a new callback token: %v; want oa rebuilt around its running token manager", ch)
	}
	if now.Surface.Callback.Token.Reveal() != "newcbtoken" {
		t.Error("the rebuilt account does not answer with its new callback token")
	}

	mp2 := mp
	mp2.DailyLimit = 1000
	ch = reload(oa2, mp2)
	nowMP, _ := reg.Lookup("mp")
	if !slices.Equal(ch.Rebuilt, []string{"mp"}) || len(ch.TokensKept) != 0 || nowMP.Tokens == before["mp"].Tokens {
		t.Errorf("a new daily limit: %v; want mp rebuilt with a new token manager", ch)
	}
	// The new manager reads the token the old one stored: nothing fetched.
	if got := tokenOf(t, reg, "mp"); got != tokMP || r.fake["mp"].TokenCalls() != 1 {
		t.Errorf("mp after its rebuild serves %.12s after %d fetches; want the stored token, 1 fetch", got, r.fake["mp"].TokenCalls())
	}

	third := r.spec(t, "third", config.KindOfficialAccount)
	ch = reload(oa2, third)
	if !slices.Equal(ch.Added, []string{"third"}) || !slices.Equal(ch.Removed, []string{"mp"}) || ch.Unchanged != 1 {
		t.Errorf("mp replaced by third: %v; want third added, mp removed, oa unchanged", ch)
	}
	if _, ok := reg.Lookup("mp"); ok {
		t.Error("mp is still looked up after its removal")
	}
	if got := tokenOf(t, reg, "oa"); got != tokOA || r.fake["oa"].TokenCalls() != 1 {
		t.Errorf("oa after three reloads serves %.12s after %d fetches; want its first token, 1 fetch", got, r.fake["oa"].TokenCalls())
	}
	if names := accountNames(reg.Surface()); !slices.Equal(names, []string{"oa", "third"}) {
		t.Errorf("surface = %v; want oa, third", names)
	}
}

// A reload that fails — a broken rules file, a surface the router refuses —
// keeps the running accounts, and closes what it built.
func TestReloadFailureKeepsRunningSet(t *testing.T) {
	r := newRig(t)
	oa := r.spec(t, "oa", config.KindOfficialAccount)
	reg := r.open(t, oa)
	running, _ := reg.Lookup("oa")
	broken := filepath.Join(r.dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("rules:\n  - keyword: [hi]\n    reply: {type: nonsense}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := r.spec(t, "bad", config.KindOfficialAccount)
	bad.RulesFile = broken
	if _, err := reg.Reload([]config.Account{oa, bad}, nil); err == nil || !strings.Contains(err.Error(), "broken.yaml:3") {
		t.Errorf("Reload with a broken rules file = %v; want its file:line", err)
	}
	refuse := errors.New("router says no")
	other := r.spec(t, "other", config.KindOfficialAccount)
	baseline := managerGoroutines()
	if _, err := reg.Reload([]config.Account{oa, other}, func(*handlers.Accounts) error { return refuse }); !errors.Is(err, refuse) {
		t.Errorf("Reload refused by apply = %v; want its error", err)
	}
	// The token managers it built for other are closed: none of their
	// goroutines keeps running.
	deadline := time.Now().Add(5 * time.Second)
	for managerGoroutines() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := managerGoroutines(); n > baseline {
		t.Errorf("%d token manager goroutines after the refused reload, %d before; want what it built closed", n, baseline)
	}
	if got, _ := reg.Lookup("oa"); got != running || len(reg.All()) != 1 {
		t.Errorf("after failed reloads the registry holds %v; want the running oa alone", accountNames(reg.Surface()))
	}
	if _, err := os.Stat(filepath.Join(r.dir, "access_token.wxother0000000000.json")); !os.IsNotExist(err) {
		t.Errorf("the refused account left a token file behind (%v); a failed reload must fetch nothing", err)
	}
}

func accountNames(s *handlers.Accounts) []string {
	var out []string
	for _, a := range s.All() {
		out = append(out, a.Name)
	}
	return out
}

// managerGoroutines counts the goroutines token Managers started (their
// store watches).
func managerGoroutines() int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "created by wxoa/wechat/token.NewManager") {
			n++
		}
	}
	return n
}

// With ACCOUNTS_FILE (SpreadRefreshes) the accounts' refreshes ahead are
// spread within the margin's second half; a single account's is exactly
// TOKEN_REFRESH_MARGIN ahead, as before.
func TestRefreshesSpreadWithinTheMargin(t *testing.T) {
	margin := 5 * time.Minute // TOKEN_REFRESH_MARGIN's default
	for _, spread := range []bool{false, true} {
		r := newRig(t)
		r.sh.SpreadRefreshes = spread
		var specs []config.Account
		for i := range 12 {
			specs = append(specs, r.spec(t, fmt.Sprintf("a%02d", i), config.KindOfficialAccount))
		}
		reg := r.open(t, specs...)
		ahead := map[time.Duration]bool{}
		for _, s := range specs {
			tokenOf(t, reg, s.Name)
			a, _ := reg.Lookup(s.Name)
			st := a.Tokens.Stats()
			d := st.Token.ExpiresAt.Sub(st.NextRefresh)
			if d > margin || (spread && d <= margin/2) || (!spread && d != margin) {
				t.Errorf("spread %v: %s refreshes %v ahead of expiry; want within the margin %v", spread, s.Name, d, margin)
			}
			ahead[d] = true
		}
		if spread && len(ahead) < 6 {
			t.Errorf("12 accounts refresh at %d distinct offsets; want them spread", len(ahead))
		}
	}
}
