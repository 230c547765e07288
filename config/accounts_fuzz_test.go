package config

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// FuzzParseAccounts: whatever the file, the parser neither panics nor
// leaks a ${VAR}'s value, reports only FILE:LINE errors in line order, and
// what it accepts holds together: unique names, tokens and callback paths,
// every credential of the kind, a key for every WeCom callback.
func FuzzParseAccounts(f *testing.F) {
	for _, path := range []string{"../templates/accounts.example.yaml", "testdata/two.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add(oa)
	f.Add(oa + "    token: ${S_TOKEN}\n    callback_path: /wechat/${S_PATH}\n  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: $${S}\n    agent_id: 1\n")
	f.Add("accounts:\n  - &x {name: a, app_id: wx1, app_secret: s}\n  - *x\n")
	f.Add("accounts:\n  - name: a\n    app_id: [wx1\n")
	f.Add("accounts: []\n---\n- x\n")

	const file = "fuzz/accounts.yaml"
	const leak = "LEAKEDVALUE"
	// Variables starting with S are set, to a value that must never show.
	lookup := func(name string) string {
		if strings.HasPrefix(name, "S") {
			return "tok" + leak + "1"
		}
		return ""
	}
	def := accountDefaults{apiBase: &url.URL{Scheme: "https", Host: "api.weixin.qq.com"},
		weComAPIBase: &url.URL{Scheme: "https", Host: "qyapi.weixin.qq.com"}, dailyLimit: 2000}
	errLine := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `(:[1-9][0-9]*)?: \S`)

	f.Fuzz(func(t *testing.T, content string) {
		accounts, _, errs := parseAccounts(file, []byte(content), lookup, def)
		if len(errs) > 0 {
			if accounts != nil {
				t.Fatalf("parseAccounts(%q) = %d accounts and errors; want nil accounts with errors", content, len(accounts))
			}
			for i, e := range errs {
				msg := e.Error()
				if !errLine.MatchString(msg) || strings.Contains(msg, "\n") {
					t.Errorf("parseAccounts(%q) error %q; want one FILE:LINE: line", content, msg)
				}
				if i > 0 && e.Line < errs[i-1].Line {
					t.Errorf("parseAccounts(%q) errors out of line order: %d after %d", content, e.Line, errs[i-1].Line)
				}
				if strings.Contains(msg, leak) && !strings.Contains(content, leak) {
					t.Errorf("parseAccounts(%q) error %q shows a variable's value", content, msg)
				}
			}
			return
		}
		if len(accounts) == 0 {
			t.Fatalf("parseAccounts(%q) = no accounts, no error; want one or the other", content)
		}
		names, ids, paths := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, a := range accounts {
			switch {
			case !AccountNamePattern.MatchString(a.Name) || names[a.Name]:
				t.Errorf("parseAccounts(%q) accepted name %q (bad or repeated)", content, a.Name)
			case ids[a.Identity()] || !idPattern.MatchString(a.AppID):
				t.Errorf("parseAccounts(%q) accepted identity %q (bad or repeated)", content, a.Identity())
			case !a.ActiveCalls() || a.APIBase == nil || a.DailyLimit <= 0:
				t.Errorf("parseAccounts(%q) accepted %s without secret, API base or limit", content, a.Name)
			case a.Kind == KindWeCom && (!agentIDPattern.MatchString(a.AgentID) || a.Callback() && a.EncodingAESKey.Empty()):
				t.Errorf("parseAccounts(%q) accepted WeCom %s without agent or callback key", content, a.Name)
			case (a.Kind == KindMiniProgram) != (a.DataFormat != ""):
				t.Errorf("parseAccounts(%q) gave %s (%s) data format %q", content, a.Name, a.Kind, a.DataFormat)
			case a.Callback() && (paths[a.CallbackPath] || reservedPath(a.CallbackPath) || !strings.HasPrefix(a.CallbackPath, "/")):
				t.Errorf("parseAccounts(%q) accepted callback path %q (bad, reserved or repeated)", content, a.CallbackPath)
			}
			names[a.Name], ids[a.Identity()] = true, true
			if a.Callback() {
				paths[a.CallbackPath] = true
			}
		}
	})
}
