package config

import (
	"fmt"
	"net"

	"wxoa/wechat/token"
)

// Warnings returns non-fatal notes about the configuration, one line each,
// meant to be logged at startup.
func (c *Config) Warnings() []string {
	var w []string
	if c.AccountsFile != "" {
		w = append(w, c.accountWarnings()...)
	}
	switch {
	case c.AccountsFile != "": // the file requires every secret
	case c.AppID == "" && c.AppSecret.Empty():
		w = append(w, "WECHAT_APP_ID/WECHAT_APP_SECRET empty: active calls (menus, customer-service, token) are disabled")
	case c.AppSecret.Empty():
		w = append(w, "WECHAT_APP_SECRET empty: active calls (menus, customer-service, token) are disabled")
	case c.AppID == "":
		w = append(w, "WECHAT_APP_ID empty: active calls (menus, customer-service, token) are disabled")
	}
	if n := len(c.TokenAPIKey.Reveal()); n > 0 && n < minAPIKeyLen {
		w = append(w, fmt.Sprintf("TOKEN_API_KEY is %d characters: a short key is guessable; use at least %d (e.g. openssl rand -hex 24)", n, minAPIKeyLen))
	}
	if c.TokenAPIKey.Empty() {
		w = append(w, "TOKEN_API_KEY is empty: /api/token and /api/jssdk/config are not served")
	} else if c.AccountsFile == "" && !c.ActiveCalls() {
		w = append(w, "TOKEN_API_KEY is set but WECHAT_APP_ID/WECHAT_APP_SECRET are not: /api/token cannot fetch a token")
	}
	if c.AccountsFile == "" && c.EncodingAESKey.Empty() {
		w = append(w, "WECHAT_ENCODING_AES_KEY is empty: only plaintext-mode callbacks can be handled")
	}
	if c.MaxClockSkew == 0 {
		w = append(w, "WECHAT_MAX_CLOCK_SKEW is 0: callback timestamps are not checked, replayed requests are accepted")
	}
	if c.TokenStore.Kind == token.KindMemory {
		w = append(w, "TOKEN_STORE=memory: the access_token is lost on restart and not shared between processes; every fetch counts against the daily quota")
	}
	for _, p := range c.TrustedProxies {
		if _, n, err := net.ParseCIDR(p); err == nil {
			if ones, _ := n.Mask.Size(); ones == 0 {
				w = append(w, "TRUSTED_PROXIES contains "+p+": every client can choose its address with X-Forwarded-For and so escape the limit on failed authentications")
			}
		}
	}
	if c.ForwardTimeout < c.ReplyDeadline {
		w = append(w, fmt.Sprintf("FORWARD_TIMEOUT (%s) is shorter than REPLY_DEADLINE (%s): slow forwarded replies are dropped instead of delivered late",
			c.ForwardTimeout, c.ReplyDeadline))
	}
	return append(w, c.notes...)
}

// accountWarnings are Warnings' per-account notes with ACCOUNTS_FILE: the
// file requires every secret, so what is left to note is a callback that
// can only be plaintext.
func (c *Config) accountWarnings() []string {
	var w []string
	for _, a := range c.Accounts {
		if a.Callback() && a.EncodingAESKey.Empty() {
			w = append(w, fmt.Sprintf("account %s (%s): no encoding_aes_key: only plaintext-mode callbacks can be handled", a.Name, a.Source))
		}
	}
	return w
}
