// Package config turns a .env file plus the process environment, and the
// accounts file they may name (ACCOUNTS_FILE), into one typed, validated
// Config. It reports every problem at once, one line per variable or
// FILE:LINE, so an operator fixes a broken deployment in a single pass.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
)

// LogFormat selects the slog handler.
type LogFormat string

// Log formats accepted in LOG_FORMAT.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Config is the whole runtime configuration. A Config returned by Load or
// FromMap has passed validation; durations, URLs and secrets are typed.
// Print or log it as a *Config (String, LogValue): a dereferenced Config
// would print FORWARD_URL with its query.
type Config struct {
	// Accounts are the accounts served, at least one: those of
	// ACCOUNTS_FILE, or without it the one built from the single-account
	// variables, named DefaultAccountName.
	Accounts []Account
	// AccountsFile is ACCOUNTS_FILE as given (relative to the working
	// directory); "" in single-account mode.
	AccountsFile string

	// The single-account variables, set only without ACCOUNTS_FILE (and
	// then also in Accounts[0]); zero with it.

	AppID     string        // WECHAT_APP_ID; "" disables active calls
	AppSecret wechat.Secret // WECHAT_APP_SECRET
	// Token is the callback token used in the signature (WECHAT_TOKEN).
	Token wechat.Secret
	// EncodingAESKey is the 43-character key of compatible/safe mode
	// (WECHAT_ENCODING_AES_KEY); empty means plaintext mode only.
	// Only its validity is checked here; wechat.NewCrypter decodes it.
	EncodingAESKey wechat.Secret
	CallbackPath   string   // WECHAT_CALLBACK_PATH, starts with "/"
	RulesFile      string   // RULES_FILE; "" uses the embedded templates/rules.yaml
	TokenMode      api.Mode // TOKEN_MODE

	// APIBase (WECHAT_API_BASE) is the API base of the single account, and
	// with ACCOUNTS_FILE the default of its Official Accounts and Mini
	// Programs; WeComAPIBase (WECOM_API_BASE) that of its WeCom accounts.
	// No trailing slash, no query.
	APIBase         *url.URL
	WeComAPIBase    *url.URL
	ListenAddr      string        // LISTEN_ADDR, host:port
	MaxClockSkew    time.Duration // WECHAT_MAX_CLOCK_SKEW; 0 turns the timestamp check off
	LogLevel        slog.Level    // LOG_LEVEL
	LogFormat       LogFormat     // LOG_FORMAT
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
	HTTPTimeout     time.Duration // WECHAT_HTTP_TIMEOUT, per outbound call to WeChat

	TokenStore         token.Spec    // TOKEN_STORE
	TokenRefreshMargin time.Duration // TOKEN_REFRESH_MARGIN, in (0, 1h)
	TokenDailyLimit    int           // TOKEN_DAILY_LIMIT, > 0; with ACCOUNTS_FILE, the default daily_limit
	// TokenAPIKey guards /api/token and /api/jssdk/config; empty means those
	// endpoints are not served.
	TokenAPIKey wechat.Secret

	ReplyDeadline  time.Duration // REPLY_DEADLINE, in (0, 5s)
	ForwardURL     *url.URL      // FORWARD_URL; nil when unset
	ForwardTimeout time.Duration // FORWARD_TIMEOUT

	// DedupStore is where callbacks are claimed across instances (DEDUP_STORE).
	DedupStore DedupSpec
	// DedupCacheBytes bounds the in-process reply cache (DEDUP_CACHE_SIZE).
	DedupCacheBytes int64
	// DedupRedisBytes bounds the reply bytes each instance writes to the
	// dedup Redis over the dedup TTL (DEDUP_REDIS_SIZE).
	DedupRedisBytes int64

	// NgrokAuthtoken opens `serve --tunnel` (NGROK_AUTHTOKEN); read here so
	// that .env can hold it like every other setting.
	NgrokAuthtoken wechat.Secret
	// AdminSecureCookie marks the admin page's cookies Secure
	// (ADMIN_SECURE_COOKIE): right behind TLS, wrong on plain http, where a
	// browser would drop them and sign-in could never stick.
	AdminSecureCookie bool

	// MaxConnections caps the connections the server holds open
	// (MAX_CONNECTIONS); 0 ("auto") derives the cap from the open-file
	// limit at start-up.
	MaxConnections int

	// TrustedProxies are the IPs and CIDRs (TRUSTED_PROXIES) whose
	// X-Forwarded-For names the client; empty means the TCP peer is the
	// client. Only a reverse proxy in front of us belongs here: anyone
	// listed can claim any client address.
	TrustedProxies []string

	// EnvFile is the env file Load read, "" for none: start-up names it,
	// since a file read from an unexpected directory is a classic surprise.
	EnvFile string

	// notes are warnings found while loading that the fields cannot
	// reproduce, e.g. misspelled variables in .env.
	notes []string
	// accountVars are the ${VAR}s ACCOUNTS_FILE references: variables of
	// the env file that are not misspelled ones of ours.
	accountVars []string
}

// VarError is the problem with one variable. Load and FromMap return all of
// them joined with errors.Join; its text never contains a secret.
type VarError struct {
	Var     string // the variable's name, e.g. "LISTEN_ADDR"
	Problem string
}

func (e *VarError) Error() string { return e.Var + ": " + e.Problem }

// ActiveCalls reports whether the credentials for calling WeChat (menus,
// customer-service messages, access tokens) are present in the
// single-account variables; with ACCOUNTS_FILE, ask each Account.
func (c *Config) ActiveCalls() bool { return c.AppID != "" && !c.AppSecret.Empty() }

// Load reads an env file without touching the process environment, then
// builds the Config. dotenvPath "" means ".env" in the working directory,
// read if it exists; "none" means no file; any other path must exist (an
// operator who names a file that is not there has made a mistake worth
// stopping for). A variable set to a non-empty value by getenv wins over the
// file, which wins over the default; a nil getenv means os.Getenv. An
// unreadable or malformed file is an error naming it. Config.EnvFile says
// which file was read.
func Load(getenv func(string) string, dotenvPath string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	optional := dotenvPath == ""
	if optional {
		dotenvPath = ".env"
	}
	dotenv := map[string]string{}
	read := ""
	if dotenvPath != NoEnvFile {
		var err error
		var found bool
		if dotenv, found, err = readDotenv(dotenvPath); err != nil {
			return nil, err
		}
		switch {
		case found:
			read = dotenvPath
		case !optional:
			return nil, fmt.Errorf("ENV_FILE: %s does not exist (unset ENV_FILE to read ./.env if present, or set ENV_FILE=none for no file)", dotenvPath)
		}
	}
	cfg, err := build(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return dotenv[k]
	})
	if err != nil {
		return nil, err
	}
	cfg.EnvFile = read
	cfg.notes = unknownKeys(dotenv, dotenvPath, cfg.accountVars)
	return cfg, nil
}

// NoEnvFile as ENV_FILE reads no env file at all.
const NoEnvFile = "none"

// FromMap builds a Config from m alone, with the same defaults and
// validation as Load.
func FromMap(m map[string]string) (*Config, error) {
	return build(func(k string) string { return m[k] })
}

// build validates every variable, collecting all problems before failing.
func build(lookup func(string) string) (*Config, error) {
	l := &loader{lookup: lookup}
	c := &Config{
		AccountsFile:    l.str(envAccountsFile, ""),
		APIBase:         l.apiBase(envAPIBase, api.WeChatBaseURL),
		WeComAPIBase:    l.apiBase(envWeComAPIBase, api.WeComBaseURL),
		ListenAddr:      l.listenAddr(envListenAddr, ":8080"),
		MaxClockSkew:    l.duration(envMaxClockSkew, "5m", atLeastZero),
		LogLevel:        l.logLevel(envLogLevel, "info"),
		LogFormat:       LogFormat(l.oneOf(envLogFormat, "text", string(LogText), string(LogJSON))),
		ShutdownTimeout: l.duration(envShutdownTimeout, "15s", positive),
		HTTPTimeout:     l.duration(envHTTPTimeout, "10s", positive),

		TokenStore:         l.store(envTokenStore, "file:data/access_token.json"),
		TokenRefreshMargin: l.duration(envTokenRefreshMargin, "5m", between(0, time.Hour)),
		TokenDailyLimit:    l.positiveInt(envTokenDailyLimit, "2000"),
		TokenAPIKey:        l.apiKey(envTokenAPIKey),

		ReplyDeadline:  l.duration(envReplyDeadline, "4.5s", between(0, 5*time.Second)),
		ForwardURL:     l.forwardURL(envForwardURL),
		ForwardTimeout: l.duration(envForwardTimeout, "30s", positive),

		TrustedProxies: l.trustedProxies(envTrustedProxies),
		MaxConnections: l.maxConnections(envMaxConnections),

		DedupStore:      l.dedupStore(envDedupStore),
		DedupCacheBytes: l.byteSize(envDedupCacheSize, "32MiB", 1<<20, 16<<30),
		DedupRedisBytes: l.byteSize(envDedupRedisSize, "64MiB", 1<<20, 64<<30),
		NgrokAuthtoken:  wechat.Secret(l.str(envNgrokAuthtoken, "")),

		AdminSecureCookie: l.boolean(envAdminSecureCookie, false),
	}
	if c.AccountsFile == "" {
		c.singleAccount(l)
	} else {
		c.Accounts, c.accountVars = l.accounts(c.AccountsFile, c.accountDefaults())
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// unknownKeys flags .env entries that look like ours but are not, so a typo
// such as WECHAT_APPID does not silently fall back to a default.
func unknownKeys(dotenv map[string]string, path string, referenced []string) []string {
	known := make(map[string]bool, len(allVars))
	for _, k := range allVars {
		known[k] = true
	}
	for _, k := range referenced {
		known[k] = true
	}
	var notes []string
	for k := range dotenv {
		if known[k] || !hasOurPrefix(k) {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: unknown variable %s is ignored (misspelled?)", path, k))
	}
	// Map order is random; a stable order keeps startup logs diffable.
	slices.Sort(notes)
	return notes
}

func hasOurPrefix(k string) bool {
	for _, p := range []string{"WECHAT_", "TOKEN_", "LOG_", "REPLY_", "FORWARD_", "RULES_", "LISTEN_", "SHUTDOWN_", "TRUSTED_", "DEDUP_", "NGROK_", "ADMIN_", "ACCOUNTS_", "WECOM_", "MAX_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
