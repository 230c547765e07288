package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
)

// several is a router over an Official Account (oa, wxoa1), a Mini
// Program (mp, wxmp1) and two WeCom applications of one corp (hr and ops
// of ww1), each with its own token, and the token API on.
func several(t *testing.T) (http.Handler, map[string]*tokensStub) {
	t.Helper()
	toks := map[string]*tokensStub{}
	mk := func(name string, kind Kind, appID, agent, secret, path string) *Account {
		toks[name] = newTokensStub("TOKEN-" + name)
		return &Account{Name: name, Kind: kind, AppID: appID, AgentID: agent, Secret: wechat.Secret(secret), Tokens: toks[name],
			Callback: &Callback{Path: path, Token: testToken, Answerer: silent{}, Crypter: map[bool]*wechat.Crypter{true: testCrypter(t)}[kind == WeCom]}}
	}
	set := accounts(t,
		mk("oa", OfficialAccount, "wxoa1", "", "oasecret", "/wechat/oa"),
		mk("mp", MiniProgram, "wxmp1", "", "mpsecret", "/wechat/mp"),
		mk("hr", WeCom, "ww1", "1000002", "hrsecret", "/wechat/hr"),
		mk("ops", WeCom, "ww1", "1000003", "opssecret", "/wechat/ops"),
	)
	h, err := NewRouter(Deps{Now: func() time.Time { return fixedNow }, APIKey: testAPIKey, Accounts: set})
	if err != nil {
		t.Fatal(err)
	}
	return h, toks
}

func tokenOf(t *testing.T, body string) string {
	t.Helper()
	var r struct {
		AccessToken string `json:"access_token"`
		ErrCode     *int   `json:"errcode"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("answer %q is not JSON: %v", body, err)
	}
	return r.AccessToken
}

func TestTokenAPISelectsAccount(t *testing.T) {
	h, _ := several(t)
	tests := []struct {
		name, method, target, body string
		status                     int
		want                       string // the token, or a substring of the error
	}{
		{"by name", "GET", "/api/token?account=mp", "", 200, "TOKEN-mp"},
		{"by appid", "GET", "/api/token?appid=wxoa1", "", 200, "TOKEN-oa"},
		{"WeCom by name", "GET", "/api/token?account=ops", "", 200, "TOKEN-ops"},
		{"both, agreeing", "GET", "/api/token?account=oa&appid=wxoa1", "", 200, "TOKEN-oa"},
		{"both, disagreeing", "GET", "/api/token?account=oa&appid=wxmp1", "", 400, "different accounts"},
		{"none with several", "GET", "/api/token", "", 400, "account=NAME or appid=APPID"},
		{"unknown name", "GET", "/api/token?account=nope", "", 404, `no account with name \"nope\"`},
		{"unknown appid", "GET", "/api/token?appid=wxnope", "", 404, `no account with appid \"wxnope\"`},
		{"a corp id is no appid", "GET", "/api/token?appid=ww1", "", 404, "appid"},
		{"refresh by body", "POST", "/api/token/refresh", `{"account":"mp","stale_token":"TOKEN-mp"}`, 200, "TOKEN-mp-new"},
		{"refresh by appid", "POST", "/api/token/refresh", `{"appid":"wxoa1","stale_token":"old"}`, 200, "TOKEN-oa"},
		{"refresh by query", "POST", "/api/token/refresh?account=hr", `{"stale_token":"TOKEN-hr"}`, 200, "TOKEN-hr-new"},
		{"refresh without one", "POST", "/api/token/refresh", `{"stale_token":"TOKEN-mp"}`, 400, "account"},
		{"jssdk for an account without it", "GET", "/api/jssdk/config?account=mp&url=https://example.com/", "", 404, "JS-SDK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.target, "Bearer "+testAPIKey, tt.body)
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.target, rec.Code, body, tt.status)
			}
			if tt.status == 200 {
				if got := tokenOf(t, body); got != tt.want {
					t.Errorf("%s %s serves %q; want %q", tt.method, tt.target, got, tt.want)
				}
			} else if !strings.Contains(body, tt.want) {
				t.Errorf("%s %s = %s; want it to say %q", tt.method, tt.target, body, tt.want)
			}
		})
	}
	// Authentication comes first: an unauthenticated request learns
	// nothing about the accounts.
	for _, target := range []string{"/api/token", "/api/token?account=nope", "/api/token?account=oa"} {
		if rec := do(h, "GET", target, "", ""); rec.Code != 401 {
			t.Errorf("GET %s without the key = %d; want 401", target, rec.Code)
		}
	}
}

func TestDropInsPickTheAccount(t *testing.T) {
	h, _ := several(t)
	tests := []struct {
		name, method, target, body string
		wantToken                  string
		wantCode                   int
	}{
		{"classic, the OA", "GET", "/cgi-bin/token?grant_type=client_credential&appid=wxoa1&secret=oasecret", "", "TOKEN-oa", 0},
		{"classic, the MP", "GET", "/cgi-bin/token?grant_type=client_credential&appid=wxmp1&secret=mpsecret", "", "TOKEN-mp", 0},
		{"another account's secret", "GET", "/cgi-bin/token?grant_type=client_credential&appid=wxoa1&secret=mpsecret", "", "", 40125},
		{"unknown appid", "GET", "/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret=oasecret", "", "", 40013},
		{"a corp id", "GET", "/cgi-bin/token?grant_type=client_credential&appid=ww1&secret=hrsecret", "", "", 40013},
		{"stable, the MP", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wxmp1","secret":"mpsecret"}`, "TOKEN-mp", 0},
		{"stable, wrong secret", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wxmp1","secret":"oasecret"}`, "", 40125},
		{"WeCom hr", "GET", "/cgi-bin/gettoken?corpid=ww1&corpsecret=hrsecret", "", "TOKEN-hr", 0},
		{"WeCom ops, same corp", "GET", "/cgi-bin/gettoken?corpid=ww1&corpsecret=opssecret", "", "TOKEN-ops", 0},
		{"WeCom wrong secret", "GET", "/cgi-bin/gettoken?corpid=ww1&corpsecret=nope", "", "", 40001},
		{"WeCom unknown corp", "GET", "/cgi-bin/gettoken?corpid=ww2&corpsecret=hrsecret", "", "", 40013},
		{"WeCom no secret", "GET", "/cgi-bin/gettoken?corpid=ww1", "", "", 41004},
		{"WeCom no corp", "GET", "/cgi-bin/gettoken?corpsecret=hrsecret", "", "", 41002},
		{"an OA's credentials on WeCom's", "GET", "/cgi-bin/gettoken?corpid=wxoa1&corpsecret=oasecret", "", "", 40013},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.target, "", tt.body)
			var r struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
				ErrCode     int    `json:"errcode"`
				ErrMsg      string `json:"errmsg"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); rec.Code != 200 || err != nil {
				t.Fatalf("%s %s = %d %s; want 200 JSON", tt.method, tt.target, rec.Code, rec.Body)
			}
			if r.AccessToken != tt.wantToken || r.ErrCode != tt.wantCode {
				t.Errorf("%s %s = %s; want token %q, errcode %d", tt.method, tt.target, rec.Body, tt.wantToken, tt.wantCode)
			}
			if tt.wantToken != "" && r.ExpiresIn != 7200 {
				t.Errorf("%s %s expires_in = %d; want 7200", tt.method, tt.target, r.ExpiresIn)
			}
			if strings.Contains(tt.name, "WeCom") && tt.wantToken != "" && !strings.HasPrefix(rec.Body.String(), `{"errcode":0,"errmsg":"ok",`) {
				t.Errorf("WeCom's answer = %s; want errcode 0 and errmsg ok first, as WeCom answers", rec.Body)
			}
		})
	}
}

func TestSetAccountsSwapsRoutes(t *testing.T) {
	oa := testAcct(func(a *Account) { a.Tokens = newTokensStub("T1") })
	mp := testAcct(func(a *Account) {
		a.Name, a.Kind, a.AppID, a.Tokens = "mp", MiniProgram, "wxmp", newTokensStub("T2")
		a.Callback.Path = "/wechat/mp"
	})
	r, err := NewRouter(Deps{Now: func() time.Time { return fixedNow }, APIKey: testAPIKey, Accounts: accounts(t, oa, mp)})
	if err != nil {
		t.Fatal(err)
	}
	echo := func(path string) int {
		q := signedQuery(fixedNow.Unix(), "n")
		q.Set("echostr", "hello")
		return serve(r, "GET", path+"?"+q.Encode(), nil).Code
	}
	if c1, c2 := echo(testPath), echo("/wechat/mp"); c1 != 200 || c2 != 200 {
		t.Fatalf("URL checks before the swap = %d, %d; want 200, 200", c1, c2)
	}
	if err := r.SetAccounts(accounts(t, mp)); err != nil {
		t.Fatal(err)
	}
	if c1, c2 := echo(testPath), echo("/wechat/mp"); c1 != 404 || c2 != 200 {
		t.Errorf("URL checks after oa was removed = %d, %d; want 404, 200", c1, c2)
	}
	// One account left: the selector may be left out again.
	if rec := do(r, "GET", "/api/token", "Bearer "+testAPIKey, ""); rec.Code != 200 || tokenOf(t, rec.Body.String()) != "T2" {
		t.Errorf("GET /api/token with one account left = %d %s; want 200 with mp's token", rec.Code, rec.Body)
	}
	if rec := do(r, "GET", "/api/token?account=oa", "Bearer "+testAPIKey, ""); rec.Code != 404 {
		t.Errorf("GET /api/token?account=oa after its removal = %d; want 404", rec.Code)
	}
	if _, ok := r.Accounts().Lookup("oa"); ok {
		t.Error("Accounts() still has oa")
	}
}

func TestNewAccountsRefusesDuplicates(t *testing.T) {
	tests := []struct {
		name string
		as   []*Account
		want string
	}{
		{"names", []*Account{testAcct(), testAcct(func(a *Account) { a.AppID, a.Callback.Path = "wx2", "/b" })}, "listed twice"},
		{"appids", []*Account{testAcct(), testAcct(func(a *Account) { a.Name, a.Callback.Path = "b", "/b" })}, "appid wxapp"},
		{"paths", []*Account{testAcct(), testAcct(func(a *Account) { a.Name, a.AppID = "b", "wx2" })}, "callback path /wechat"},
		{"WeCom applications", []*Account{
			testAcct(func(a *Account) { a.Kind, a.AppID, a.AgentID, a.Callback = WeCom, "ww1", "1", nil }),
			testAcct(func(a *Account) { a.Name, a.Kind, a.AppID, a.AgentID, a.Callback = "b", WeCom, "ww1", "1", nil }),
		}, "ww1/1"},
		{"WeCom callback without a key", []*Account{testAcct(func(a *Account) { a.Kind = WeCom })}, "EncodingAESKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewAccounts(tt.as...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewAccounts = %v; want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestHealthListsAccounts(t *testing.T) {
	h, _ := several(t)
	rec := serve(h, "GET", "/healthz", nil)
	var got struct {
		Accounts map[string]struct {
			Kind string `json:"kind"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("GET /healthz = %d %s", rec.Code, rec.Body)
	}
	want := map[string]string{"oa": "official_account", "mp": "mini_program", "hr": "wecom", "ops": "wecom"}
	for name, kind := range want {
		if got.Accounts[name].Kind != kind {
			t.Errorf("/healthz account %s kind = %q; want %q (%s)", name, got.Accounts[name].Kind, kind, rec.Body)
		}
	}
}
