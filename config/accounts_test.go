package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wxoa/wechat/api"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fromAccounts writes an accounts file to a fresh directory and builds a
// Config from it plus the variables in kv.
func fromAccounts(t *testing.T, content string, kv ...string) (*Config, string, error) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "accounts.yaml", content)
	m := map[string]string{envAccountsFile: path}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	c, err := FromMap(m)
	return c, path, err
}

// exampleVars are the ${VAR}s templates/accounts.example.yaml references.
func exampleVars() map[string]string {
	return map[string]string{
		"SHOP_APP_SECRET": "shopsecret", "SHOP_TOKEN": "shoptoken", "SHOP_AES_KEY": validAESKey,
		"MINIAPP_APP_SECRET": "minisecret", "MINIAPP_TOKEN": "minitoken", "MINIAPP_AES_KEY": validAESKey,
		"APPROVAL_SECRET": "approvalsecret", "APPROVAL_TOKEN": "approvaltoken", "APPROVAL_AES_KEY": validAESKey,
		"NOTICE_SECRET": "noticesecret",
	}
}

// TestAccountsExample: the shipped example parses, each kind as documented.
func TestAccountsExample(t *testing.T) {
	const path = "../templates/accounts.example.yaml"
	m := exampleVars()
	m[envAccountsFile] = path
	c, err := FromMap(m)
	if err != nil {
		t.Fatalf("FromMap(ACCOUNTS_FILE=%s) = %v; want nil", path, err)
	}
	type view struct {
		Name, Kind, AppID, Secret, AgentID, Mode, Token, Path, Format, APIBase string
		Limit                                                                  int
		AESKey                                                                 bool
	}
	var got []view
	for _, a := range c.Accounts {
		got = append(got, view{a.Name, string(a.Kind), a.AppID, a.Secret.Reveal(), a.AgentID, string(a.Mode), a.Token.Reveal(),
			a.CallbackPath, string(a.DataFormat), a.APIBase.String(), a.DailyLimit, !a.EncodingAESKey.Empty()})
	}
	want := []view{
		{"shop", "official_account", "wx1234567890abcdef", "shopsecret", "", "classic", "shoptoken", "/wechat/shop", "", "https://api.weixin.qq.com", 2000, true},
		{"miniapp", "mini_program", "wxfedcba0987654321", "minisecret", "", "classic", "minitoken", "/wechat/miniapp", "json", "https://api.weixin.qq.com", 2000, true},
		{"oa-approval", "wecom", "ww0123456789abcdef", "approvalsecret", "1000002", "", "approvaltoken", "/wecom/approval", "", "https://qyapi.weixin.qq.com", 2000, true},
		{"oa-notice", "wecom", "ww0123456789abcdef", "noticesecret", "1000003", "", "", "/wechat/oa-notice", "", "https://qyapi.weixin.qq.com", 1000, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("FromMap(%s).Accounts =\n%+v\nwant\n%+v", path, got, want)
	}
	if a, b := c.Accounts[2].Identity(), c.Accounts[3].Identity(); a == b {
		t.Errorf("Identity() of two applications of one corp = %q, %q; want them different", a, b)
	}
}

// TestAccountsDefaults: what an account leaves out comes from the
// server-wide variables, and the single-account fields stay zero.
func TestAccountsDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "oa-rules.yaml", "default: hello\n")
	path := writeFile(t, dir, "accounts.yaml", `accounts:
  - name: oa
    app_id: wx1
    app_secret: s1
    token: tok123
    rules_file: oa-rules.yaml
  - name: mini
    kind: Mini_Program
    app_id: wx2
    app_secret: s2
    token: tok456
    token_mode: STABLE
  - name: w
    kind: wecom
    corp_id: ww1
    corp_secret: s3
    agent_id: 1000002
`)
	c, err := FromMap(map[string]string{
		envAccountsFile:    path,
		envAPIBase:         "http://127.0.0.1:9999/",
		envWeComAPIBase:    "http://127.0.0.1:9998",
		envTokenDailyLimit: "500",
	})
	if err != nil {
		t.Fatalf("FromMap(%s) = %v; want nil", path, err)
	}
	if len(c.Accounts) != 3 {
		t.Fatalf("FromMap(%s).Accounts = %d accounts; want 3", path, len(c.Accounts))
	}
	oa, mini, w := c.Accounts[0], c.Accounts[1], c.Accounts[2]
	checks := []struct {
		name      string
		got, want any
	}{
		{"AccountsFile", c.AccountsFile, path},
		{"oa.Kind", oa.Kind, KindOfficialAccount},
		{"oa.Mode", oa.Mode, api.ModeClassic},
		{"oa.CallbackPath", oa.CallbackPath, "/wechat/oa"},
		{"oa.RulesFile", oa.RulesFile, filepath.Join(dir, "oa-rules.yaml")},
		{"oa.DataFormat", oa.DataFormat, DataFormat("")},
		{"oa.APIBase", oa.APIBase.String(), "http://127.0.0.1:9999"},
		{"oa.DailyLimit", oa.DailyLimit, 500},
		{"oa.Source", oa.Source, path + ":2"},
		{"oa.Identity", oa.Identity(), "wx1"},
		{"mini.Kind", mini.Kind, KindMiniProgram},
		{"mini.Mode", mini.Mode, api.ModeStable},
		{"mini.DataFormat", mini.DataFormat, FormatXML},
		{"mini.RulesFile", mini.RulesFile, ""},
		{"mini.Source", mini.Source, path + ":7"},
		{"w.Mode", w.Mode, api.Mode("")},
		{"w.APIBase", w.APIBase.String(), "http://127.0.0.1:9998"},
		{"w.Identity", w.Identity(), "wecom-ww1-1000002"},
		{"w.Callback", w.Callback(), false},
		{"w.ActiveCalls", w.ActiveCalls(), true},
		{"AppID", c.AppID, ""},
		{"Token", c.Token.Reveal(), ""},
		{"CallbackPath", c.CallbackPath, ""},
		{"TokenMode", c.TokenMode, api.Mode("")},
		{"APIBase", c.APIBase.String(), "http://127.0.0.1:9999"},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("FromMap(%s): %s = %v; want %v", path, tt.name, tt.got, tt.want)
		}
	}
	if oa.APIBase == mini.APIBase {
		t.Errorf("two accounts share one *url.URL; want each its own copy")
	}
}

// TestSingleAccount: without ACCOUNTS_FILE the variables make the one
// account, named default, with no source.
func TestSingleAccount(t *testing.T) {
	c, err := FromMap(base(envAppID, "wx1", envAppSecret, "s", envEncodingAESKey, validAESKey,
		envCallbackPath, "/wx", envRulesFile, "r.yaml", envTokenMode, "stable", envTokenDailyLimit, "7"))
	if err != nil {
		t.Fatalf("FromMap = %v; want nil", err)
	}
	want := Account{Name: DefaultAccountName, Kind: KindOfficialAccount, AppID: "wx1", Secret: "s", Mode: api.ModeStable,
		Token: "devtoken", EncodingAESKey: validAESKey, CallbackPath: "/wx", RulesFile: "r.yaml", APIBase: c.APIBase, DailyLimit: 7}
	if len(c.Accounts) != 1 || c.Accounts[0] != want || c.AccountsFile != "" {
		t.Errorf("FromMap(single account).Accounts = %+v, AccountsFile %q; want [%+v] and none", c.Accounts, c.AccountsFile, want)
	}
}

// TestAccountsVars: ${VAR} comes from the environment, else the env file;
// $$ is a literal $; a variable the file uses is not a misspelling.
func TestAccountsVars(t *testing.T) {
	dir := t.TempDir()
	accounts := writeFile(t, dir, "accounts.yaml", `accounts:
  - name: ${NAME}
    app_id: wx${APP_SUFFIX}
    app_secret: "$$${WECHAT_SHOP_SECRET}$$"
    token: ${WECHAT_SHOP_TOKEN}
`)
	dotenv := writeFile(t, dir, ".env", "ACCOUNTS_FILE="+accounts+"\nNAME=fromfile\nAPP_SUFFIX=123\n"+
		"WECHAT_SHOP_SECRET=filesecret\nWECHAT_SHOP_TOKEN=filetoken\nWECHAT_SHOP_TOKN=typo\n")
	c, err := Load(env(map[string]string{"NAME": "fromenv", "WECHAT_SHOP_TOKEN": ""}), dotenv)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want nil", dotenv, err)
	}
	a := c.Accounts[0]
	got := []string{a.Name, a.AppID, a.Secret.Reveal(), a.Token.Reveal()}
	if want := []string{"fromenv", "wx123", "$filesecret$", "filetoken"}; !slices.Equal(got, want) {
		t.Errorf("Load(%s) account = %q; want %q", dotenv, got, want)
	}
	notes := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(notes, "unknown variable WECHAT_SHOP_TOKN") || strings.Contains(notes, "WECHAT_SHOP_SECRET") {
		t.Errorf("Warnings() = %q; want WECHAT_SHOP_TOKN flagged, WECHAT_SHOP_SECRET (used by the file) not", notes)
	}
}

// TestAccountsRefuseSingleVars: with ACCOUNTS_FILE, each single-account
// variable set in the environment or the env file is one error naming it.
func TestAccountsRefuseSingleVars(t *testing.T) {
	dir := t.TempDir()
	accounts := writeFile(t, dir, "accounts.yaml", "accounts:\n  - name: a\n    app_id: wx1\n    app_secret: s\n")
	dotenv := writeFile(t, dir, ".env", "ACCOUNTS_FILE="+accounts+"\nWECHAT_TOKEN=devtoken123\nRULES_FILE=r.yaml\n")
	_, err := Load(env(map[string]string{
		envAppID: "wx1", envAppSecret: "topsecret", envEncodingAESKey: validAESKey,
		envCallbackPath: "/wx", envTokenMode: "stable",
	}), dotenv)
	var got []string
	for _, e := range varErrors(t, err) {
		got = append(got, e.Var)
	}
	want := []string{envAppID, envAppSecret, envToken, envEncodingAESKey, envCallbackPath, envRulesFile, envTokenMode}
	if !slices.Equal(got, want) {
		t.Fatalf("Load(ACCOUNTS_FILE and the single-account variables) = %v; want one error for each of %v", err, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "WECHAT_APP_SECRET: must be unset when ACCOUNTS_FILE is set: each account sets its own app_secret in "+accounts) ||
		strings.Contains(msg, "topsecret") || strings.Contains(msg, "devtoken123") {
		t.Errorf("Load = %q; want each variable named with the field replacing it, no value", msg)
	}
}

// TestAccountsErrorsTyped: the file's problems are *AccountErrors after
// the variables' *VarErrors.
func TestAccountsErrorsTyped(t *testing.T) {
	_, path, err := fromAccounts(t, "accounts:\n  - name: a\n    kind: nope\n", envLogLevel, "loud")
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 2 {
		t.Fatalf("FromMap = %v; want two joined errors", err)
	}
	var ve *VarError
	var ae *AccountError
	if errs := joined.Unwrap(); !errors.As(errs[0], &ve) || ve.Var != envLogLevel || !errors.As(errs[1], &ae) ||
		*ae != (AccountError{File: path, Line: 3, Msg: `kind: "nope" is not one of official_account, mini_program, wecom`}) {
		t.Errorf("FromMap = %#v; want the LOG_LEVEL *VarError, then the kind *AccountError at line 3", joined.Unwrap())
	}
}

// TestAccountsFileUnreadable: ACCOUNTS_FILE itself is a variable's error.
func TestAccountsFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, dir, "big.yaml", "# "+strings.Repeat("x", maxAccountsFile))
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "absent.yaml"), "does not exist (a relative path is relative to the working directory)"},
		{dir, "cannot be read"},
		{big, "is larger than 16MiB"},
	}
	for _, tt := range tests {
		_, err := FromMap(map[string]string{envAccountsFile: tt.path})
		errs := varErrors(t, err)
		if len(errs) != 1 || errs[0].Var != envAccountsFile || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromMap(ACCOUNTS_FILE=%s) = %v; want one ACCOUNTS_FILE error naming it and saying %q", tt.path, err, tt.want)
		}
	}
}
