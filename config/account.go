package config

import (
	"net/url"
	"regexp"

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
