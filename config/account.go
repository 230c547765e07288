package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"wxoa/wechat"
	"wxoa/wechat/api"
)

// Kind is what sort of WeChat account an Account is.
type Kind string

// Account kinds accepted in ACCOUNTS_FILE's kind field.
const (
	KindOfficialAccount Kind = "official_account" // 公众号 (the default)
	KindMiniProgram     Kind = "mini_program"     // 小程序
	KindWeCom           Kind = "wecom"            // 企业微信 application
)

// DataFormat is how a Mini Program's pushes are encoded (the console's 数据格式).
type DataFormat string

// Data formats of a Mini Program's pushes.
const (
	FormatXML  DataFormat = "xml"
	FormatJSON DataFormat = "json"
)

// DefaultAccountName names the one account of a configuration without
// ACCOUNTS_FILE (the single-account variables).
const DefaultAccountName = "default"

// AccountNamePattern is what an account's name may be: it is used in file
// names, log lines, metric labels and on the command line.
var AccountNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Account is one WeChat account the server holds a token for and, with a
// callback Token, answers pushes for. Everything an account owns is built
// from this value alone (plus the server-wide settings of Config).
type Account struct {
	Name string // unique, AccountNamePattern
	Kind Kind

	// AppID is the Official Account's or Mini Program's app_id, or the
	// WeCom corp_id. With Secret it identifies the token.
	AppID string
	// Secret is app_secret, or for WeCom the application's corp_secret.
	// Empty (single-account mode only): no active calls.
	Secret  wechat.Secret
	AgentID string   // WeCom: the application's agent_id (digits); "" otherwise
	Mode    api.Mode // Official Account and Mini Program: classic or stable

	// Token is the callback token; empty: no callback is served.
	Token          wechat.Secret
	EncodingAESKey wechat.Secret // empty: plaintext callbacks (never empty for WeCom with a Token)
	CallbackPath   string        // starts with "/"
	RulesFile      string        // "": the embedded templates/rules.yaml
	DataFormat     DataFormat    // Mini Program: xml or json; "" otherwise

	APIBase    *url.URL // no trailing slash, no query
	DailyLimit int      // upstream token fetches per day

	// Source is where the account was defined, "FILE:LINE", or "" for
	// the single-account environment variables.
	Source string
}

// ActiveCalls reports whether the account can fetch a token and so call
// WeChat (menus, customer-service messages, tickets).
func (a *Account) ActiveCalls() bool { return a.AppID != "" && !a.Secret.Empty() }

// Callback reports whether a callback is served for the account.
func (a *Account) Callback() bool { return !a.Token.Empty() }

// Identity names the account's token where the fleet shares it (Redis
// keys, token files, dedup keys): the appid, or for WeCom the corp and the
// application, never the corp alone, whose applications each hold a token
// of their own. It holds no secret.
func (a *Account) Identity() string {
	if a.Kind == KindWeCom {
		return "wecom-" + a.AppID + "-" + a.AgentID
	}
	return a.AppID
}

// ChooseAccount picks the account named by name or appID (an Official
// Account's or Mini Program's), or the only one: the token API's rule, for
// the command line (--account, --appid).
func ChooseAccount(accounts []Account, name, appID string) (Account, error) {
	var names []string
	for _, a := range accounts {
		names = append(names, a.Name)
	}
	known := strings.Join(names[:min(len(names), 10)], ", ")
	if len(names) > 10 {
		known += fmt.Sprintf(" and %d more", len(names)-10)
	}
	i := -1
	switch {
	case name != "":
		if i = slices.IndexFunc(accounts, func(a Account) bool { return a.Name == name }); i < 0 {
			return Account{}, fmt.Errorf("no account named %q (accounts: %s)", name, known)
		}
		if appID != "" && accounts[i].AppID != appID {
			return Account{}, fmt.Errorf("--account %s and --appid %s name different accounts: give one of them", name, appID)
		}
	case appID != "":
		if i = slices.IndexFunc(accounts, func(a Account) bool { return a.AppID == appID && a.Kind != KindWeCom }); i < 0 {
			return Account{}, fmt.Errorf("no Official Account or Mini Program with appid %q (accounts: %s)", appID, known)
		}
	case len(accounts) == 1:
		i = 0
	default:
		return Account{}, fmt.Errorf("%d accounts are configured: choose one with --account NAME or --appid APPID (accounts: %s)", len(accounts), known)
	}
	return accounts[i], nil
}
