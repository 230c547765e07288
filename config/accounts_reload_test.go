package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestReloadAccounts: SIGHUP's reload sees an edited accounts file and a
// changed env file, with the environment still winning, and reports a
// broken one without touching the running Config.
func TestReloadAccounts(t *testing.T) {
	dir := t.TempDir()
	one := "accounts:\n  - name: a\n    app_id: wx1\n    app_secret: ${A_SECRET}\n"
	two := one + "  - name: b\n    kind: mini_program\n    app_id: wx2\n    app_secret: s2\n    daily_limit: 9\n"
	accounts := writeFile(t, dir, "accounts.yaml", one)
	dotenvOf := func(secret string) string { return "ACCOUNTS_FILE=" + accounts + "\nA_SECRET=" + secret + "\n" }
	dotenv := writeFile(t, dir, ".env", dotenvOf("first"))
	c, err := Load(env(map[string]string{envTokenDailyLimit: "100"}), dotenv)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want nil", dotenv, err)
	}

	type step struct {
		name            string
		accounts, env   string            // new file contents; "" leaves the file
		getenv          map[string]string // the environment at reload
		want            string            // name:secret:limit of each account
		wantErr         string
		removeEnv, same bool
	}
	steps := []step{
		{name: "unchanged", want: "a:first:100"},
		{name: "account added, secret changed", accounts: two, env: dotenvOf("second"), want: "a:second:100 b:s2:9"},
		{name: "environment wins", getenv: map[string]string{"A_SECRET": "third"}, want: "a:third:100 b:s2:9"},
		{name: "broken file", accounts: two + "  - name: a\n", wantErr: accounts + `:10: name "a" is already used on line 2`},
		{name: "variable gone", accounts: one, env: "ACCOUNTS_FILE=" + accounts + "\n", wantErr: accounts + ":4: app_secret: ${A_SECRET} is not set"},
		{name: "single-account variable", env: dotenvOf("x") + "WECHAT_TOKEN=tok123\n", wantErr: "WECHAT_TOKEN: must be unset when ACCOUNTS_FILE is set"},
		{name: "ACCOUNTS_FILE unset", env: "A_SECRET=x\n", wantErr: "ACCOUNTS_FILE: is no longer set: going back to the single-account variables needs a restart"},
		{name: "env file removed", removeEnv: true, wantErr: "ENV_FILE: " + dotenv + ", read at start-up, no longer exists"},
	}
	for _, s := range steps {
		if s.accounts != "" {
			writeFile(t, dir, "accounts.yaml", s.accounts)
		}
		if s.env != "" {
			writeFile(t, dir, ".env", s.env)
		}
		if s.removeEnv {
			if err := os.Remove(dotenv); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.ReloadAccounts(env(s.getenv))
		var view []string
		for _, a := range got {
			view = append(view, fmt.Sprintf("%s:%s:%d", a.Name, a.Secret.Reveal(), a.DailyLimit))
		}
		switch {
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr) || got != nil):
			t.Errorf("%s: ReloadAccounts = %v, %v; want an error containing %q", s.name, view, err, s.wantErr)
		case s.wantErr == "" && (err != nil || strings.Join(view, " ") != s.want):
			t.Errorf("%s: ReloadAccounts = %v, %v; want %s", s.name, view, err, s.want)
		}
	}
	if len(c.Accounts) != 1 || c.Accounts[0].Secret.Reveal() != "first" {
		t.Errorf("after reloads, Config.Accounts = %+v; want the start-up account untouched", c.Accounts)
	}
}

// TestReloadSingleAccount: without ACCOUNTS_FILE nothing is re-read.
func TestReloadSingleAccount(t *testing.T) {
	dotenv := writeDotenv(t, "WECHAT_TOKEN=tok123\nWECHAT_APP_ID=wx1\n")
	c, err := Load(env(nil), dotenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dotenv, []byte("WECHAT_TOKEN=changed\nWECHAT_APP_ID=wx2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReloadAccounts(env(map[string]string{envAppID: "wx3"}))
	if err != nil || !slices.Equal(got, c.Accounts) || got[0].AppID != "wx1" || got[0].Token.Reveal() != "tok123" {
		t.Errorf("ReloadAccounts (single account) = %+v, %v; want Config.Accounts unchanged (%+v)", got, err, c.Accounts)
	}
}

// TestAccountsWarnings: per-account notes name the account; the
// single-account variables' notes are not given for a file.
func TestAccountsWarnings(t *testing.T) {
	c, path, err := fromAccounts(t, `accounts:
  - name: plain
    app_id: wx1
    app_secret: s
    token: tok123
  - name: safe
    app_id: wx2
    app_secret: s
    token: tok123
    encoding_aes_key: `+validAESKey+`
  - name: quiet
    app_id: wx3
    app_secret: s
`, envTokenAPIKey, strings.Repeat("k", 16))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(c.Warnings(), "\n")
	if want := "account plain (" + path + ":2): no encoding_aes_key: only plaintext-mode callbacks can be handled"; !strings.Contains(all, want) {
		t.Errorf("Warnings() = %q; want %q", all, want)
	}
	for _, not := range []string{"account safe", "account quiet", "WECHAT_", "cannot fetch a token"} {
		if strings.Contains(all, not) {
			t.Errorf("Warnings() = %q; want nothing about %q", all, not)
		}
	}
}

// TestAccountsLogValue: every account is listed, its secrets only as set.
func TestAccountsLogValue(t *testing.T) {
	m := exampleVars()
	m[envAccountsFile] = "../templates/accounts.example.yaml"
	c, err := FromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String() + fmt.Sprintf("%v %+v %#v", c, c, c)
	for k, v := range exampleVars() {
		if strings.Contains(out, v) {
			t.Errorf("log of Config = %s; want no %s (%q) in it", out, k, v)
		}
	}
	for _, want := range []string{
		"config.accounts_file=../templates/accounts.example.yaml",
		"config.accounts.shop.kind=official_account config.accounts.shop.app_id=wx1234567890abcdef config.accounts.shop.app_secret_set=true",
		"config.accounts.shop.callback_path=/wechat/shop config.accounts.shop.encoding_aes_key_set=true",
		"config.accounts.miniapp.data_format=json",
		"config.accounts.oa-approval.corp_id=ww0123456789abcdef config.accounts.oa-approval.agent_id=1000002 config.accounts.oa-approval.corp_secret_set=true",
		"config.accounts.oa-notice.token_set=false config.accounts.oa-notice.api_base=https://qyapi.weixin.qq.com config.accounts.oa-notice.daily_limit=1000",
		"config.wecom_api_base=https://qyapi.weixin.qq.com",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log of Config = %s; want %s in it", out, want)
		}
	}
}
