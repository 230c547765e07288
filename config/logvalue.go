package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// LogValue lists the effective settings for the startup log. Secrets show
// only whether they are set, the Redis password is masked, and FORWARD_URL
// loses its query, which often carries a key.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID),
		slog.Bool("app_secret_set", !c.AppSecret.Empty()),
		slog.Bool("encoding_aes_key_set", !c.EncodingAESKey.Empty()),
		slog.String("api_base", urlWithoutQuery(c.APIBase)),
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
	)
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

func urlWithoutQuery(u *url.URL) string {
	if u == nil {
		return ""
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return clean.String()
}
