package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// oa is the start of a valid Official Account at lines 2-4 of a file
// whose line 1 is "accounts:".
const oa = "accounts:\n  - name: a\n    app_id: wx1\n    app_secret: s\n"

// TestAccountsFileErrors: each problem is reported as FILE:LINE: what is
// wrong, exactly, in line order, all of them at once.
func TestAccountsFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // FILE stands for the path, DIR for its directory
	}{
		{"empty file", "", []string{"FILE: the file is empty: want an accounts: list"}},
		{"comments only", "# nothing\n", []string{"FILE: the file is empty: want an accounts: list"}},
		{"empty list", "accounts: []\n", []string{"FILE:1: accounts: the list is empty: want at least one account"}},
		{"null list", "# header\naccounts:\n", []string{"FILE:2: accounts: the list is empty: want at least one account"}},
		{"not a list", "accounts: wx1\n", []string{"FILE:1: accounts: want a list of accounts (- name: ...), got a value"}},
		{"not a mapping", "- name: a\n", []string{"FILE:1: want a mapping with an accounts: list, got a list"}},
		{"unknown top-level key", "account:\n  - name: a\n", []string{
			`FILE:1: unknown key "account" at the top level (want accounts)`, "FILE:1: no accounts: list"}},
		{"second document", oa + "---\naccounts: []\n", []string{"FILE:5: a second YAML document: want one, with an accounts: list"}},
		{"tab", oa + "\ttoken: tok123\n", []string{
			"FILE:4: bad YAML at or below this line: found a tab character that violates indentation (check indentation, quotes and brackets)"}},
		{"unclosed bracket", oa + "    token: [tok\n  - name: b\n", []string{
			"FILE:5: bad YAML at or below this line: did not find expected ',' or ']' (check indentation, quotes and brackets)"}},
		{"item not a mapping", oa + "  - wx2\n", []string{"FILE:5: an account: want a mapping (name: ..., app_id: ...), got a value"}},
		{"unknown fields", oa + "    appid: wx1\n    colour: red\n", []string{
			`FILE:5: unknown field "appid" (did you mean app_id?)`,
			`FILE:6: unknown field "colour" (want one of name, kind, app_id, app_secret, token_mode, corp_id, corp_secret, agent_id, token, encoding_aes_key, callback_path, rules_file, data_format, api_base, daily_limit)`}},
		{"repeated field", oa + "    app_id: wx2\n", []string{"FILE:5: app_id: repeated (first on line 3)"}},
		{"list value", "accounts:\n  - name: a\n    app_id: [wx1, wx2]\n    app_secret: s\n", []string{"FILE:3: app_id: want a single value, got a list"}},
		{"unknown kind", oa + "    kind: service_account\n", []string{`FILE:5: kind: "service_account" is not one of official_account, mini_program, wecom`}},
		{"bad name", "accounts:\n  - name: Shop\n    app_id: wx1\n    app_secret: s\n", []string{
			`FILE:2: name: "Shop" is not a name: 1-64 lowercase letters, digits, - and _, starting with a letter or digit`}},
		{"missing name", "accounts:\n  - app_id: wx1\n    app_secret: s\n", []string{
			"FILE:2: name is missing: every account needs one (lowercase letters, digits, - and _)"}},
		{"duplicate names", oa + "  - name: a\n    app_id: wx2\n    app_secret: s\n", []string{`FILE:5: name "a" is already used on line 2`}},
		{"missing app_id and app_secret", "accounts:\n  - name: a\n    kind: mini_program\n", []string{
			"FILE:2: app_id is missing (kind mini_program needs app_id, app_secret)",
			"FILE:2: app_secret is missing (kind mini_program needs app_id, app_secret)"}},
		{"empty app_secret", "accounts:\n  - name: a\n    app_id: wx1\n    app_secret: \"\"\n", []string{
			"FILE:2: app_secret is missing (kind official_account needs app_id, app_secret)"}},
		{"missing wecom credentials", "accounts:\n  - name: w\n    kind: wecom\n", []string{
			"FILE:2: corp_id is missing (kind wecom needs corp_id, corp_secret, agent_id)",
			"FILE:2: corp_secret is missing (kind wecom needs corp_id, corp_secret, agent_id)",
			"FILE:2: agent_id is missing (kind wecom needs corp_id, corp_secret, agent_id)"}},
		{"fields of other kinds", oa + "    agent_id: 1\n    data_format: json\n    corp_secret: s\n" +
			"  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: 1\n    token_mode: stable\n    app_id: wx2\n    data_format: xml\n", []string{
			"FILE:5: agent_id does not apply to kind official_account (only to wecom)",
			"FILE:6: data_format does not apply to kind official_account (only to mini_program)",
			"FILE:7: corp_secret does not apply to kind official_account (only to wecom)",
			"FILE:13: token_mode does not apply to kind wecom (only to official_account and mini_program)",
			"FILE:14: app_id does not apply to kind wecom (only to official_account and mini_program)",
			"FILE:15: data_format does not apply to kind wecom (only to mini_program)"}},
		{"bad app_id", "accounts:\n  - name: a\n    app_id: ../wx1\n    app_secret: s\n", []string{
			`FILE:3: app_id: "../wx1" is not an id: 1-64 letters, digits, - and _, not starting with - (e.g. wx1234567890abcdef)`}},
		{"bad agent_id", "accounts:\n  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: app1\n", []string{
			`FILE:6: agent_id: "app1" is not an AgentId: digits (e.g. 1000002)`}},
		{"bad token_mode", oa + "    token_mode: cached\n", []string{`FILE:5: token_mode: "cached" is not one of classic, stable`}},
		{"bad data_format", "accounts:\n  - name: m\n    kind: mini_program\n    app_id: wx1\n    app_secret: s\n    token: tok123\n    data_format: yaml\n", []string{
			`FILE:7: data_format: "yaml" is not one of xml, json`}},
		{"bad callback token", oa + "    token: my-token\n", []string{
			"FILE:5: token: must be 3-32 letters or digits, as WeChat's console requires (got 8 characters; value not shown)"}},
		{"bad encoding_aes_key", oa + "    token: tok123\n    encoding_aes_key: " + validAESKey[:42] + "!\n", []string{
			"FILE:6: encoding_aes_key: must be the 43-character base64 EncodingAESKey from the admin console (got 43 characters; value not shown)"}},
		{"wecom token without key", "accounts:\n  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: 1\n    token: tok123\n", []string{
			"FILE:7: token: WeCom callbacks are always encrypted: set encoding_aes_key too"}},
		{"callback fields without token", oa + "    encoding_aes_key: " + validAESKey + "\n    callback_path: /wx\n    rules_file: rules.yaml\n", []string{
			"FILE:5: encoding_aes_key is set but token is not: no callback is served without one",
			"FILE:6: callback_path is set but token is not: no callback is served without one",
			"FILE:7: rules_file is set but token is not: no callback is served without one",
			`FILE:7: rules_file: "rules.yaml" (DIR/rules.yaml) does not exist (a relative path is relative to the accounts file)`}},
		{"bad callback_path", oa + "    token: tok123\n    callback_path: wx/:id\n", []string{
			`FILE:6: callback_path: "wx/:id" must be a path starting with "/" (e.g. /wechat/shop), without query, spaces, ":" or "*"`}},
		{"callback_path on a route", oa + "    token: tok123\n    callback_path: /cgi-bin/token\n", []string{
			`FILE:6: callback_path: "/cgi-bin/token" collides with the server's own routes (/api/..., /cgi-bin/..., /admin..., /healthz, /metrics)`}},
		{"duplicate callback paths", oa + "    token: tok123\n    callback_path: /wx\n" +
			"  - name: b\n    app_id: wx2\n    app_secret: s\n    token: tok123\n    callback_path: /wx\n" +
			"  - name: c\n    app_id: wx3\n    app_secret: s\n    token: tok123\n    callback_path: /wechat/d\n" +
			"  - name: d\n    app_id: wx4\n    app_secret: s\n    token: tok123\n" +
			"  - name: e\n    app_id: wx5\n    app_secret: s\n    callback_path: /wx\n", []string{
			`FILE:11: callback_path "/wx" is already account "a"'s (line 6)`,
			`FILE:17: callback_path "/wechat/d" is already account "c"'s (line 16)`,
			"FILE:24: callback_path is set but token is not: no callback is served without one"}},
		{"duplicate app_id", oa + "  - name: m\n    kind: mini_program\n    app_id: wx1\n    app_secret: s\n", []string{
			`FILE:7: app_id "wx1" is already account "a"'s (line 3): one token, one account`}},
		{"duplicate wecom application", "accounts:\n" +
			"  - name: w1\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: 1000002\n" +
			"  - name: w2\n    kind: wecom\n    corp_id: ww1\n    corp_secret: t\n    agent_id: 1000003\n" +
			"  - name: w3\n    kind: wecom\n    corp_id: ww1\n    corp_secret: u\n    agent_id: \"1000002\"\n", []string{
			`FILE:14: corp_id "ww1" with agent_id "1000002" is already account "w1"'s (line 4): one token, one account`}},
		{"bad api_base", oa + "    api_base: ftp://api.weixin.qq.com\n  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: 1\n    api_base: https://qyapi.weixin.qq.com/?debug=1\n", []string{
			`FILE:5: api_base: "ftp://api.weixin.qq.com" is not an absolute http(s) URL (e.g. https://api.weixin.qq.com)`,
			`FILE:11: api_base: "https://qyapi.weixin.qq.com/?..." must not carry a query or fragment`}},
		{"daily_limit zero", oa + "    daily_limit: 0\n", []string{`FILE:5: daily_limit: "0" is not a positive integer`}},
		{"daily_limit not a number", oa + "    daily_limit: 1.5\n", []string{`FILE:5: daily_limit: "1.5" is not a positive integer`}},
		{"rules_file missing", oa + "    token: tok123\n    rules_file: /nonexistent/rules.yaml\n", []string{
			`FILE:6: rules_file: "/nonexistent/rules.yaml" does not exist (a relative path is relative to the accounts file)`}},
		{"rules_file a directory", oa + "    token: tok123\n    rules_file: .\n", []string{`FILE:6: rules_file: "." (DIR) is a directory`}},
		{"variable unset", oa + "    token: ${NOPE}\n    callback_path: /${NOPE2}\n", []string{
			"FILE:5: token: ${NOPE} is not set (in the environment or the env file)",
			"FILE:6: callback_path: ${NOPE2} is not set (in the environment or the env file)"}},
		{"variable malformed", oa + "    token: ${TOKEN\n    callback_path: /${1X}\n", []string{
			"FILE:5: token: malformed ${...}: want ${NAME}, NAME of letters, digits and _ (write $$ for a literal $)",
			"FILE:6: callback_path: malformed ${...}: want ${NAME}, NAME of letters, digits and _ (write $$ for a literal $)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := fromAccounts(t, tt.content)
			if err == nil {
				t.Fatalf("FromMap(%q) = nil; want errors", tt.content)
			}
			r := strings.NewReplacer("FILE", path, "DIR", filepath.Dir(path))
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = r.Replace(w)
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("FromMap(%q) =\n%s\nwant\n%s", tt.content, got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestAccountsReservedPaths: a callback path may not shadow a route of the
// server's own; near misses are fine.
func TestAccountsReservedPaths(t *testing.T) {
	tests := []struct {
		path     string
		reserved bool
	}{
		{"/api", true}, {"/api/", true}, {"/api/token", true}, {"/cgi-bin", true}, {"/cgi-bin/stable_token", true},
		{"/admin", true}, {"/admin/login", true}, {"/administrator", true}, {"/healthz", true}, {"/healthz/", true}, {"/metrics", true},
		{"/apis", false}, {"/wechat/api", false}, {"/cgi", false}, {"/metricsx", false}, {"/wechat", false}, {"/", false},
	}
	for _, tt := range tests {
		_, _, err := fromAccounts(t, oa+"    token: tok123\n    callback_path: "+tt.path+"\n")
		if got := err != nil && strings.Contains(err.Error(), ":6: callback_path: ") && strings.Contains(err.Error(), "collides with the server's own routes"); got != tt.reserved || (!tt.reserved && err != nil) {
			t.Errorf("callback_path: %s gives %v; want reserved %v", tt.path, err, tt.reserved)
		}
	}
}

// TestAccountsAllAtOnce: the variables' problems, then every problem of
// the file, in line order, whatever order they were found in.
func TestAccountsAllAtOnce(t *testing.T) {
	_, path, err := fromAccounts(t, `accounts:
  - name: a
    app_id: wx1
    app_secret: s
    token: x
  - name: a
    kind: wecom
    corp_id: ww1
    corp_secret: s
    agent_id: 1
    token: tok123
  - name: b
    app_id: wx1
    app_secret: s
    daily_limit: lots
`, envListenAddr, "nope", envToken, "devtoken")
	want := strings.Join([]string{
		"WECHAT_TOKEN: must be unset when ACCOUNTS_FILE is set: each account sets its own token in " + path,
		`LISTEN_ADDR: "nope" is not host:port (e.g. :8080, 127.0.0.1:8080)`,
		path + ":5: token: must be 3-32 letters or digits, as WeChat's console requires (got 1 characters; value not shown)",
		path + `:6: name "a" is already used on line 2`,
		path + ":11: token: WeCom callbacks are always encrypted: set encoding_aes_key too",
		path + `:13: app_id "wx1" is already account "a"'s (line 3): one token, one account`,
		path + `:15: daily_limit: "lots" is not a positive integer`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("FromMap =\n%v\nwant\n%s", err, want)
	}
}

// TestAccountsErrorsHideSecrets: no secret, written in the file or held by
// a ${VAR}, shows in any error, whatever is wrong around it.
func TestAccountsErrorsHideSecrets(t *testing.T) {
	const s = "Zq9SECRET"
	contents := []string{
		"accounts:\n  - name: a\n    app_id: wx1\n    app_secret: " + s + "\n    token: " + s + "-x\n    encoding_aes_key: " + s + "\n",
		"accounts:\n  - name: a\n    kind: wecom\n    app_id: wx1\n    app_secret: " + s + "\n    token_mode: " + s + "\n",
		"accounts:\n  - name: a\n    app_id: wx1\n    corp_secret: " + s + "\n    app_secret: ${" + s + "\n",
		"accounts:\n  - name: ${V}\n    kind: ${V}\n    app_id: ${V}/\n    app_secret: s\n    token_mode: ${V}\n    api_base: ${V}\n    daily_limit: ${V}\n",
		"accounts:\n  - name: a\n    app_id: ${V}/\n    app_secret: s\n    token_mode: ${V}\n  - name: w\n    kind: wecom\n    corp_id: ww1\n    corp_secret: s\n    agent_id: ${V}\n",
		"accounts:\n  - name: a\n    app_id: ${ID}\n    app_secret: s\n  - name: b\n    app_id: ${ID}\n    app_secret: s\n",
		"accounts:\n  - name: ${N}\n    app_id: wx1\n    app_secret: s\n    token: tok123\n  - name: b\n    app_id: wx2\n    app_secret: s\n    token: tok123\n    callback_path: /wechat/${N}\n",
		"accounts:\n  - name: a\n    app_id: wx1\n    app_secret: s\n    token: tok123\n    rules_file: ${V}\n    api_base: https://u:" + s + "@h/\n",
		"accounts:\n  - name: a\n    app_id: wx1\n    app_secret: s\n    api_base: https://h/?key=" + s + "\n  - " + s + "\n",
	}
	for _, c := range contents {
		_, _, err := fromAccounts(t, c, "V", s+"-v", "ID", "wx"+s, "N", "n"+strings.ToLower(s))
		if err == nil {
			t.Errorf("FromMap(%q) = nil; want errors", c)
			continue
		}
		if msg := err.Error(); strings.Contains(strings.ToLower(msg), strings.ToLower(s)) {
			t.Errorf("FromMap(%q) =\n%s\nwant no %q in it", c, msg, s)
		}
	}
}
