package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"wxoa/config"
	"wxoa/wechat/wechattest"
)

// Test accounts, against one fake WeChat: an Official Account (the fake's
// default app) and a Mini Program, each with its own secret and callback.
const (
	mpAppID  = "wxmini00000000001"
	mpSecret = "minisecret"
	oaToken  = "oacbtoken1"
	mpToken  = "mpcbtoken1"
	oaAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// accountsVars is a server's environment for the accounts file yaml,
// written to a temporary file, against fake.
func accountsVars(t *testing.T, fake *wechattest.Server, yaml string) map[string]string {
	t.Helper()
	vars := e2eVars(t, fake)
	for _, k := range []string{"WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET"} {
		delete(vars, k)
	}
	vars["ACCOUNTS_FILE"] = writeAccounts(t, yaml)
	vars["WECOM_API_BASE"] = fake.WeComURL
	return vars
}

func writeAccounts(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// oaAndMP is the accounts file of an Official Account and a Mini Program.
func oaAndMP(fake *wechattest.Server) string {
	return fmt.Sprintf(`accounts:
  - name: oa
    app_id: %s
    app_secret: %s
    token: %s
  - name: mp
    kind: mini_program
    app_id: %s
    app_secret: %s
    token: %s
    data_format: json
`, fake.AppID(), fake.AppSecret(), oaToken, mpAppID, mpSecret, mpToken)
}

// doer sends one request to a server under test (e2eServer.do, proc.do).
type doer func(method, path, auth, body string) (int, string, error)

// accountToken asks the token API for account's token; safe in goroutines.
func accountToken(do doer, account string) (string, error) {
	code, body, err := do("GET", "/api/token?account="+account, "Bearer "+e2eAPIKey, "")
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.AccessToken == "" {
		return "", fmt.Errorf("GET /api/token?account=%s = %d %s, %v", account, code, body, err)
	}
	return r.AccessToken, nil
}

// tokenFor is accountToken for the test's goroutine.
func tokenFor(t *testing.T, do doer, account string) string {
	t.Helper()
	v, err := accountToken(do, account)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Two accounts, one server, one API base: concurrent cold requests for
// both cost one fetch each and each gets its own token; the drop-ins pick
// by appid and refuse a wrong secret; a restart reuses both stored tokens.
func TestTwoAccountsOneServer(t *testing.T) {
	fake := wechattest.NewServer(t)
	mpApp := fake.AddApp(mpAppID, mpSecret)
	vars := accountsVars(t, fake, oaAndMP(fake))
	s := startE2E(t, vars, fake)
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		name := []string{"oa", "mp"}[i%2]
		wg.Go(func() {
			v, err := accountToken(s.do, name)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	oaTok, mpTok := got[0], got[1]
	for i, v := range got {
		if want := []string{oaTok, mpTok}[i%2]; v != want {
			t.Errorf("request %d got %.12s...; want its account's one token %.12s...", i, v, want)
		}
	}
	if oaTok == mpTok || !fake.Valid(oaTok) || !fake.Valid(mpTok) {
		t.Fatalf("tokens %.12s, %.12s; want two valid tokens", oaTok, mpTok)
	}
	if a, b := fake.DefaultApp().TokenCalls(), mpApp.TokenCalls(); a != 1 || b != 1 {
		t.Errorf("fetches for 10 cold requests each: oa %d, mp %d; want one each", a, b)
	}
	if mpApp.Current() != mpTok {
		t.Errorf("the Mini Program's token is not the one its app minted")
	}

	for _, tt := range []struct {
		appid, secret string
		want          string
		code          int
	}{
		{fake.AppID(), fake.AppSecret(), oaTok, 0},
		{mpAppID, mpSecret, mpTok, 0},
		{mpAppID, fake.AppSecret(), "", 40125}, // the other account's secret
		{"wxunknown0000000", mpSecret, "", 40013},
	} {
		code, body := s.request(t, "GET", "/cgi-bin/token?grant_type=client_credential&appid="+tt.appid+"&secret="+tt.secret, "", "")
		var r struct {
			AccessToken string `json:"access_token"`
			ErrCode     int    `json:"errcode"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.AccessToken != tt.want || r.ErrCode != tt.code {
			t.Errorf("drop-in for %s = %d %s; want token %.12s, errcode %d", tt.appid, code, body, tt.want, tt.code)
		}
	}
	if code, body := s.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, ""); code != 400 ||
		!strings.Contains(body, "account") || !strings.Contains(body, "appid") {
		t.Errorf("GET /api/token with two accounts and no selector = %d %s; want 400 naming account and appid", code, body)
	}

	s.stop(t)
	s2 := startE2E(t, vars, fake)
	if a, b := tokenFor(t, s2.do, "oa"), tokenFor(t, s2.do, "mp"); a != oaTok || b != mpTok {
		t.Errorf("after a restart: %.12s, %.12s; want the stored %.12s, %.12s", a, b, oaTok, mpTok)
	}
	if a, b := fake.DefaultApp().TokenCalls(), mpApp.TokenCalls(); a != 1 || b != 1 {
		t.Errorf("fetches after the restart: oa %d, mp %d; want still one each", a, b)
	}
}

// The single-account environment is one account named default, whatever
// the accounts file mode does.
func TestSingleAccountIsDefault(t *testing.T) {
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)
	if a, b := tokenFor(t, s.do, config.DefaultAccountName), s.token(t); a != b {
		t.Errorf("GET /api/token?account=default = %.12s; want the one token %.12s", a, b)
	}
}

func (s *e2eServer) token(t *testing.T) string {
	t.Helper()
	code, body := s.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, "")
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
		t.Fatalf("GET /api/token = %d %s", code, body)
	}
	return r.AccessToken
}
