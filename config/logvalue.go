package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// LogValue lists the effective settings for the startup log, the accounts
// last. Secrets show only whether they are set, the Redis password is
// masked, and FORWARD_URL loses its query, which often carries a key.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("accounts_file", c.AccountsFile),
		slog.String("app_id", c.AppID),
		slog.Bool("app_secret_set", !c.AppSecret.Empty()),
		slog.Bool("encoding_aes_key_set", !c.EncodingAESKey.Empty()),
		slog.String("api_base", urlWithoutQuery(c.APIBase)),
		slog.String("wecom_api_base", urlWithoutQuery(c.WeComAPIBase)),
		slog.String("listen_addr", c.ListenAddr),
		slog.String("callback_path", c.CallbackPath),
		slog.String("max_clock_skew", c.MaxClockSkew.String()),
		slog.String("rules_file", c.RulesFile),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", string(c.LogFormat)),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("http_timeout", c.HTTPTimeout.String()),
		slog.String("token_store", c.TokenStore.String()),
		slog.String("token_mode", string(c.TokenMode)),
		slog.String("token_refresh_margin", c.TokenRefreshMargin.String()),
		slog.Int("token_daily_limit", c.TokenDailyLimit),
		slog.Bool("token_api_key_set", !c.TokenAPIKey.Empty()),
		slog.String("reply_deadline", c.ReplyDeadline.String()),
		slog.String("forward_url", urlWithoutQuery(c.ForwardURL)),
		slog.String("forward_timeout", c.ForwardTimeout.String()),
		slog.String("dedup_store", c.DedupStore.String()),
		slog.Int64("dedup_cache_bytes", c.DedupCacheBytes),
		slog.Int64("dedup_redis_bytes", c.DedupRedisBytes),
		slog.Bool("ngrok_authtoken_set", !c.NgrokAuthtoken.Empty()),
		slog.Bool("admin_secure_cookie", c.AdminSecureCookie),
		slog.String("trusted_proxies", strings.Join(c.TrustedProxies, ",")),
		slog.Attr{Key: "accounts", Value: accountsLogValue(c.Accounts)},
		slog.String("max_connections", maxConnections(c.MaxConnections)),
	)
}

// maxAccountsLogged bounds the accounts listed in the start-up line: a
// thousand accounts would make it hundreds of KiB, which log collectors
// split or cut. The admin page and /healthz list them all.
const maxAccountsLogged = 20

// accountsLogValue is one group per account, keyed by its name, for the
// first maxAccountsLogged, and how many more there are.
func accountsLogValue(accounts []Account) slog.Value {
	groups := make([]slog.Attr, min(len(accounts), maxAccountsLogged), min(len(accounts), maxAccountsLogged)+1)
	for i := range groups {
		a := &accounts[i]
		attrs := []slog.Attr{slog.String("kind", string(a.Kind))}
		if a.Kind == KindWeCom {
			attrs = append(attrs, slog.String("corp_id", a.AppID), slog.String("agent_id", a.AgentID),
				slog.Bool("corp_secret_set", !a.Secret.Empty()))
		} else {
			attrs = append(attrs, slog.String("app_id", a.AppID), slog.Bool("app_secret_set", !a.Secret.Empty()),
				slog.String("token_mode", string(a.Mode)))
		}
		attrs = append(attrs, slog.Bool("token_set", !a.Token.Empty()))
		if a.Callback() {
			attrs = append(attrs, slog.String("callback_path", a.CallbackPath),
				slog.Bool("encoding_aes_key_set", !a.EncodingAESKey.Empty()), slog.String("rules_file", a.RulesFile))
		}
		if a.DataFormat != "" {
			attrs = append(attrs, slog.String("data_format", string(a.DataFormat)))
		}
		attrs = append(attrs, slog.String("api_base", urlWithoutQuery(a.APIBase)), slog.Int("daily_limit", a.DailyLimit))
		if a.Source != "" {
			attrs = append(attrs, slog.String("source", a.Source))
		}
		groups[i] = slog.Attr{Key: a.Name, Value: slog.GroupValue(attrs...)}
	}
	if more := len(accounts) - len(groups); more > 0 {
		groups = append(groups, slog.Int("more", more))
	}
	return slog.GroupValue(groups...)
}

// String renders the same view as LogValue, so printing a *Config with
// fmt shows no secret either (the URL fields would print in full).
func (c *Config) String() string {
	var b strings.Builder
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	return b.String()
}

// GoString keeps %#v as safe as %v.
func (c *Config) GoString() string { return "config.Config{" + c.String() + "}" }

func maxConnections(n int) string {
	if n == 0 {
		return "auto"
	}
	return strconv.Itoa(n)
}

func urlWithoutQuery(u *url.URL) string {
	if u == nil {
		return ""
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return clean.String()
}
