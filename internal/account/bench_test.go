package account

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wxoa/config"
	"wxoa/wechat/token"
)

// thousand opens n Official Accounts whose tokens are already in their
// files (a restart): nothing is fetched, the API base is unreachable.
func thousand(tb testing.TB, n int) (*Registry, []string) {
	tb.Helper()
	dir := tb.TempDir()
	cfg, err := config.FromMap(map[string]string{"WECHAT_TOKEN": "benchtoken", "TOKEN_STORE": "file:" + filepath.Join(dir, "access_token.json")})
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{cfg: cfg, dir: dir}
	r.sh = Shared{Config: cfg, Logger: discardLogger(), Hub: token.NewHub(nil, discardLogger()), PerAccountFiles: true}
	tb.Cleanup(func() { r.sh.Hub.Close() })
	base, _ := url.Parse("http://127.0.0.1:1")
	now := time.Now()
	specs := make([]config.Account, n)
	names := make([]string, n)
	for i := range specs {
		appID := fmt.Sprintf("wxbench%011d", i)
		names[i] = fmt.Sprintf("acct-%04d", i)
		specs[i] = config.Account{Name: names[i], Kind: config.KindOfficialAccount, AppID: appID, Secret: "s",
			Mode: "classic", APIBase: base, DailyLimit: 2000}
		rec, _ := json.Marshal(map[string]any{"access_token": "TOKEN_" + appID, "expires_at": now.Add(2 * time.Hour), "fetched_at": now})
		if err := os.WriteFile(token.FilePath(cfg.TokenStore, "access_token", appID), rec, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	reg, err := Open(specs, r.sh, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { reg.Close() })
	return reg, names
}

// BenchmarkTokenHit is a business service's token request for any of a
// thousand accounts, as the server serves it: the account selected from
// the router's set (a map lookup) and its manager's atomic load.
func BenchmarkTokenHit(b *testing.B) {
	reg, names := thousand(b, 1000)
	ctx := context.Background()
	set := reg.Surface()
	for _, n := range names { // each manager reads its stored token once
		a, _ := set.Select(n, "")
		if _, err := a.Tokens.Current(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a, err := set.Select(names[i%len(names)], "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Tokens.Current(ctx); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestTokenHitAllocs holds BenchmarkTokenHit's 0 allocations.
func TestTokenHitAllocs(t *testing.T) {
	reg, names := thousand(t, 50)
	ctx := context.Background()
	set := reg.Surface()
	a, err := set.Select(names[7], "")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := a.Tokens.Current(ctx); err != nil || tok.Value.Reveal() != "TOKEN_wxbench00000000007" {
		t.Fatalf("Current = %q, %v; want the stored token", tok.Value.Reveal(), err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		a, _ := set.Select(names[7], "")
		a.Tokens.Current(ctx)
	}); n != 0 {
		t.Errorf("a token for one of many accounts allocates %v times; want 0", n)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
