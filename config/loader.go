package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat"
)

// Variable names: the public interface of the binary.
const (
	envAppID              = "WECHAT_APP_ID"
	envAppSecret          = "WECHAT_APP_SECRET"
	envToken              = "WECHAT_TOKEN"
	envEncodingAESKey     = "WECHAT_ENCODING_AES_KEY"
	envAPIBase            = "WECHAT_API_BASE"
	envListenAddr         = "LISTEN_ADDR"
	envCallbackPath       = "WECHAT_CALLBACK_PATH"
	envMaxClockSkew       = "WECHAT_MAX_CLOCK_SKEW"
	envRulesFile          = "RULES_FILE"
	envLogLevel           = "LOG_LEVEL"
	envLogFormat          = "LOG_FORMAT"
	envShutdownTimeout    = "SHUTDOWN_TIMEOUT"
	envHTTPTimeout        = "WECHAT_HTTP_TIMEOUT"
	envTokenStore         = "TOKEN_STORE"
	envTokenMode          = "TOKEN_MODE"
	envTokenRefreshMargin = "TOKEN_REFRESH_MARGIN"
	envTokenDailyLimit    = "TOKEN_DAILY_LIMIT"
	envTokenAPIKey        = "TOKEN_API_KEY"
	envReplyDeadline      = "REPLY_DEADLINE"
	envForwardURL         = "FORWARD_URL"
	envForwardTimeout     = "FORWARD_TIMEOUT"
	envTrustedProxies     = "TRUSTED_PROXIES"
	envDedupStore         = "DEDUP_STORE"
	envDedupCacheSize     = "DEDUP_CACHE_SIZE"
	envDedupRedisSize     = "DEDUP_REDIS_SIZE"
	envNgrokAuthtoken     = "NGROK_AUTHTOKEN"
	envAdminSecureCookie  = "ADMIN_SECURE_COOKIE"
	envAccountsFile       = "ACCOUNTS_FILE"
	envWeComAPIBase       = "WECOM_API_BASE"
	envMaxConnections     = "MAX_CONNECTIONS"
)

// allVars lists every variable Config reads; never modified.
var allVars = [...]string{
	envAccountsFile, envAppID, envAppSecret, envToken, envEncodingAESKey, envAPIBase,
	envWeComAPIBase, envListenAddr, envCallbackPath, envMaxClockSkew, envRulesFile,
	envLogLevel, envLogFormat, envShutdownTimeout, envHTTPTimeout,
	envTokenStore, envTokenMode, envTokenRefreshMargin, envTokenDailyLimit,
	envTokenAPIKey, envReplyDeadline, envForwardURL, envForwardTimeout,
	envTrustedProxies, envDedupStore, envDedupCacheSize, envDedupRedisSize, envNgrokAuthtoken,
	envAdminSecureCookie, envMaxConnections,
}

// Variables returns the names of every variable the configuration reads.
func Variables() []string { return append([]string(nil), allVars[:]...) }

// minAPIKeyLen keeps TOKEN_API_KEY out of guessing range.
const minAPIKeyLen = 16

// loader reads variables and collects one error per bad variable.
type loader struct {
	lookup func(string) string
	errs   []error
}

func (l *loader) fail(key, format string, args ...any) {
	l.errs = append(l.errs, &VarError{Var: key, Problem: fmt.Sprintf(format, args...)})
}

// str returns the trimmed value of key, or def when it is empty: stray
// spaces from copy-paste would otherwise end up inside tokens and paths.
func (l *loader) str(key, def string) string {
	if v := strings.TrimSpace(l.lookup(key)); v != "" {
		return v
	}
	return def
}

func (l *loader) required(key, what string) string {
	v := l.str(key, "")
	if v == "" {
		l.fail(key, "required: %s", what)
	}
	return v
}

func (l *loader) oneOf(key, def string, allowed ...string) string {
	v := strings.ToLower(l.str(key, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.fail(key, "%q is not one of %s", echo(v), strings.Join(allowed, ", "))
	return def
}

// durationCheck returns "" when d is acceptable, else what is wrong.
type durationCheck func(d time.Duration) string

func atLeastZero(d time.Duration) string {
	if d < 0 {
		return "must not be negative"
	}
	return ""
}

func positive(d time.Duration) string {
	if d <= 0 {
		return "must be greater than 0"
	}
	return ""
}

// between accepts lo < d < hi.
func between(lo, hi time.Duration) durationCheck {
	return func(d time.Duration) string {
		if d <= lo || d >= hi {
			return fmt.Sprintf("must be greater than %s and less than %s", lo, hi)
		}
		return ""
	}
}

func (l *loader) duration(key, def string, check durationCheck) time.Duration {
	v := l.str(key, def)
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(key, "%q is not a duration (e.g. 5m, 30s)", echo(v))
		return 0
	}
	if msg := check(d); msg != "" {
		l.fail(key, "%s %s", d, msg)
	}
	return d
}

func (l *loader) positiveInt(key, def string) int {
	v := l.str(key, def)
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		l.fail(key, "%q is not a positive integer", echo(v))
		return 0
	}
	return n
}

// maxConnectionsCeiling is Linux's default ceiling on any process's file
// limit (fs.nr_open): a cap above it could never be reached.
const maxConnectionsCeiling = 1 << 20

// maxConnections reads the connection cap: "auto" (0) leaves it to
// start-up, which derives it from the open-file limit.
func (l *loader) maxConnections(key string) int {
	v := l.str(key, "auto")
	if strings.EqualFold(v, "auto") {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > maxConnectionsCeiling {
		l.fail(key, "%q is not auto or a number of connections from 1 to %d", echo(v), maxConnectionsCeiling)
		return 0
	}
	return n
}

func (l *loader) logLevel(key, def string) slog.Level {
	switch v := strings.ToLower(l.str(key, def)); v {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		l.fail(key, "%q is not one of debug, info, warn, error", echo(v))
		return slog.LevelInfo
	}
}

func (l *loader) listenAddr(key, def string) string {
	v := l.str(key, def)
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		l.fail(key, "%q is not host:port (e.g. :8080, 127.0.0.1:8080)", echo(v))
		return v
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.fail(key, "%q: port must be a number from 0 to 65535", echo(v))
	}
	return v
}

func (l *loader) callbackPath(key, def string) string {
	v := l.str(key, def)
	if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, "?# ") {
		l.fail(key, "%q must be a path starting with \"/\" (e.g. /wechat), without query or spaces", echo(v))
	}
	return v
}

// apiBase parses the WeChat API origin. Tests point it at a fake server; a
// trailing slash is trimmed so callers can append "/cgi-bin/...".
func (l *loader) apiBase(key, def string) *url.URL {
	u, problem := parseAPIBase(l.str(key, def), def)
	if problem != "" {
		l.fail(key, "%s", problem)
	}
	return u
}

// parseAPIBase is apiBase's check, shared with ACCOUNTS_FILE's api_base:
// the URL, or what is wrong with v (echoed without query or password).
func parseAPIBase(v, example string) (*url.URL, string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Sprintf("%q is not an absolute http(s) URL (e.g. %s)", echo(v), example)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Sprintf("%q must not carry a query or fragment", echo(v)+"?...")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, ""
}

// forwardURL never echoes the value: a forwarding endpoint often carries a
// key in its query.
func (l *loader) forwardURL(key string) *url.URL {
	v := l.str(key, "")
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail(key, "is not an absolute http(s) URL (e.g. http://127.0.0.1:9000/reply; value not shown)")
		return nil
	}
	return u
}

func (l *loader) apiKey(key string) wechat.Secret {
	return wechat.Secret(l.str(key, ""))
}

// trustedProxies parses a comma-separated list of IPs and CIDRs in the form
// gin's SetTrustedProxies accepts, so that a value passing here cannot fail
// there. Empty entries (a trailing comma) are skipped.
func (l *loader) trustedProxies(key string) []string {
	var out, bad []string
	for _, e := range strings.Split(l.str(key, ""), ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		_, _, err := net.ParseCIDR(e)
		ip := net.ParseIP(e)
		// gin turns an IPv4-mapped IPv6 address into an IPv6 /32, which never
		// matches the IPv4 peer meant: refuse it rather than trust nobody
		// without a word.
		mapped := ip != nil && ip.To4() != nil && strings.Contains(e, ":")
		if err != nil && (strings.Contains(e, "/") || ip == nil) || mapped {
			bad = append(bad, strconv.Quote(echo(e)))
			continue
		}
		out = append(out, e)
	}
	if len(bad) > 0 {
		l.fail(key, "%s: want IP addresses or CIDRs separated by commas, IPv4 written as such (e.g. 10.0.0.1, 172.16.0.0/12, ::1)", strings.Join(bad, ", "))
		return nil
	}
	return out
}

// echo is v as an error may echo it: userinfo hidden and nothing from the
// first "?" or "#" on, since that is where URLs carry keys. When a "?" or
// "#" comes before the last "@", either a password holds it or a query holds
// the "@"; which one cannot be told, so everything after the scheme goes.
func echo(v string) string {
	at := strings.LastIndex(v, "@")
	cut := strings.IndexAny(v, "?#")
	if at >= 0 && cut >= 0 && cut < at {
		if s := strings.Index(v, "://"); s >= 0 && s < cut {
			return v[:s+3] + "[REDACTED]"
		}
		return "[REDACTED]"
	}
	if cut >= 0 {
		v = v[:cut]
	}
	return redactUserinfo(v)
}

// boolean reads true/false (also 1/0, yes/no, on/off).
func (l *loader) boolean(key string, def bool) bool {
	switch v := strings.ToLower(l.str(key, "")); v {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	default:
		l.fail(key, "%q is not true or false", echo(v))
		return def
	}
}
