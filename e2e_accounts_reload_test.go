package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"wxoa/config"
	"wxoa/wechat/wechattest"
)

// SIGHUP re-reads the accounts file: an added account starts, a removed
// one stops (its routes answer 404), the unchanged one keeps its token and
// fetches nothing, and a broken file is logged with every problem while
// the running accounts stay.
func TestReloadOnSIGHUP(t *testing.T) {
	fake := wechattest.NewServer(t)
	mpApp := fake.AddApp(mpAppID, mpSecret)
	third := fake.AddApp("wxthird0000000001", "thirdsecret")
	vars := accountsVars(t, fake, oaAndMP(fake))
	file := vars["ACCOUNTS_FILE"]
	p := startProc(t, "wxoa", vars)
	oaTok, mpTok := tokenFor(t, p.do, "oa"), tokenFor(t, p.do, "mp")
	hangup := func(yaml, logLine string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		before := strings.Count(p.logs.String(), logLine)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the reload's log line", func() bool { return strings.Count(p.logs.String(), logLine) > before })
	}

	// mp out, third in; oa as it was.
	withThird := strings.Replace(oaAndMP(fake), fmt.Sprintf(`  - name: mp
    kind: mini_program
    app_id: %s
    app_secret: %s
    token: %s
    data_format: json
`, mpAppID, mpSecret, mpToken), fmt.Sprintf(`  - name: third
    app_id: %s
    app_secret: %s
    token: thirdcb
`, third.AppID(), third.Secret()), 1)
	hangup(withThird, "accounts reloaded")
	if !strings.Contains(p.logs.String(), "added=[third]") || !strings.Contains(p.logs.String(), "removed=[mp]") {
		t.Errorf("the reload's line does not say what changed:\n%s", p.logs)
	}
	if got := tokenFor(t, p.do, "oa"); got != oaTok {
		t.Errorf("oa after the reload serves %.12s...; want its running token %.12s...", got, oaTok)
	}
	if n := fake.DefaultApp().TokenCalls(); n != 1 {
		t.Errorf("oa fetches after the reload = %d; want still 1", n)
	}
	if v := tokenFor(t, p.do, "third"); v != third.Current() {
		t.Errorf("the added account serves %.12s...; want its own token", v)
	}
	if code, _, _ := p.do("GET", "/api/token?account=mp", "Bearer "+e2eAPIKey, ""); code != 404 {
		t.Errorf("GET /api/token?account=mp after its removal = %d; want 404", code)
	}
	if code, _, _ := p.do("POST", "/wechat/mp", "", "{}"); code != 404 {
		t.Errorf("POST /wechat/mp after its removal = %d; want 404", code)
	}
	if code, _, _ := p.do("GET", "/cgi-bin/token?grant_type=client_credential&appid="+mpAppID+"&secret="+mpSecret, "", ""); code != 200 {
		t.Errorf("drop-in for the removed mp = %d; want WeChat's 200 with errcode 40013", code)
	}

	// A broken file: every problem logged with its line, nothing changes.
	broken := withThird + "  - name: Bad Name\n    kind: bogus\n    app_id: wx1\n    app_secret: ${WXOA_TEST_UNSET_SECRET}\n"
	hangup(broken, "reload failed")
	logs := p.logs.String()
	for _, want := range []string{"accounts.yaml:10: name", "accounts.yaml:11: kind", "accounts.yaml:13: app_secret: ${WXOA_TEST_UNSET_SECRET}"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the failed reload's log lacks %q:\n%s", want, logs)
		}
	}
	if got := tokenFor(t, p.do, "third"); got != third.Current() {
		t.Errorf("third after a failed reload = %.12s...; want it still served", got)
	}

	// mp back: it reads the token it stored before its removal.
	hangup(oaAndMP(fake), "accounts reloaded")
	if got := tokenFor(t, p.do, "mp"); got != mpTok || mpApp.TokenCalls() != 1 {
		t.Errorf("mp back after a reload serves %.12s... after %d fetches; want its stored token, 1 fetch", got, mpApp.TokenCalls())
	}
	if code, _, _ := p.do("GET", "/api/token?account=third", "Bearer "+e2eAPIKey, ""); code != 404 {
		t.Errorf("third after its removal = %d; want 404", code)
	}
}

// A broken accounts file at start-up stops it with every problem, each with
// its file and line, and no secret.
func TestBrokenAccountsFileAtStartUp(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := accountsVars(t, fake, `accounts:
  - name: oa
    app_id: wxa00000000000001
    app_secret: TOPSECRET-one
  - name: oa
    app_id: wxa00000000000002
    app_secret: TOPSECRET-two
    agent_id: "7"
  - name: wc
    kind: wecom
    corp_id: ww1
    corp_secret: TOPSECRET-three
    agent_id: "1"
    token: abc123
`)
	vars["WECHAT_TOKEN"] = "leftover"
	err := run(t.Context(), []string{"wxoa", "serve"}, mapGetenv(vars), strings.NewReader(""), &lockedBuffer{}, &lockedBuffer{})
	if err == nil {
		t.Fatal("serve with a broken accounts file started; want it to refuse")
	}
	msg := err.Error()
	for _, want := range []string{"WECHAT_TOKEN", vars["ACCOUNTS_FILE"] + ":5:", ":8: agent_id", ":14: token"} {
		if !strings.Contains(msg, want) {
			t.Errorf("start-up error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "TOPSECRET") {
		t.Errorf("start-up error shows a secret:\n%s", msg)
	}
	if _, err := config.Load(mapGetenv(vars), config.NoEnvFile); err == nil {
		t.Error("config.Load accepted the file")
	}
}
