package config

import (
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
	"wxoa/wechat/api"

	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"
)

// validAESKey is 43 base64 characters: 32 bytes of 0x00..0x1f.
const validAESKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

// base returns the smallest valid set of variables, plus overrides.
func base(kv ...string) map[string]string {
	m := map[string]string{envToken: "devtoken"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// varErrors flattens a joined error into its VarErrors.
func varErrors(t *testing.T, err error) []*VarError {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v is not joined", err)
	}
	var out []*VarError
	for _, e := range joined.Unwrap() {
		var ve *VarError
		if !errors.As(e, &ve) {
			t.Fatalf("error %v is not a *VarError", e)
		}
		out = append(out, ve)
	}
	return out
}

func TestDefaults(t *testing.T) {
	c, err := FromMap(base())
	if err != nil {
		t.Fatalf("FromMap(defaults) = %v; want nil", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"AppID", c.AppID, ""},
		{"AppSecret", c.AppSecret.Reveal(), ""},
		{"Token", c.Token.Reveal(), "devtoken"},
		{"EncodingAESKey", c.EncodingAESKey.Reveal(), ""},
		{"APIBase", c.APIBase.String(), "https://api.weixin.qq.com"},
		{"ListenAddr", c.ListenAddr, ":8080"},
		{"CallbackPath", c.CallbackPath, "/wechat"},
		{"MaxClockSkew", c.MaxClockSkew, 5 * time.Minute},
		{"RulesFile", c.RulesFile, ""},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"LogFormat", c.LogFormat, LogText},
		{"ShutdownTimeout", c.ShutdownTimeout, 15 * time.Second},
		{"HTTPTimeout", c.HTTPTimeout, 10 * time.Second},
		{"TokenStore", c.TokenStore.String(), "file:data/access_token.json"},
		{"DedupStore", c.DedupStore.String(), "auto"},
		{"DedupCacheBytes", c.DedupCacheBytes, int64(32 << 20)},
		{"DedupRedisBytes", c.DedupRedisBytes, int64(64 << 20)},
		{"TokenMode", c.TokenMode, api.ModeClassic},
		{"TokenRefreshMargin", c.TokenRefreshMargin, 5 * time.Minute},
		{"TokenDailyLimit", c.TokenDailyLimit, 2000},
		{"TokenAPIKey", c.TokenAPIKey.Reveal(), ""},
		{"ReplyDeadline", c.ReplyDeadline, 4500 * time.Millisecond},
		{"ForwardURL", c.ForwardURL == nil, true},
		{"ForwardTimeout", c.ForwardTimeout, 30 * time.Second},
		{"TrustedProxies", len(c.TrustedProxies), 0},
		{"MaxConnections", c.MaxConnections, 0},
		{"ActiveCalls", c.ActiveCalls(), false},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("FromMap(defaults).%s = %v; want %v", tt.name, tt.got, tt.want)
		}
	}
}

// fields renders, per variable, the Config field it sets.
func fields() map[string]func(c *Config) string {
	return map[string]func(c *Config) string{
		envAppID:           func(c *Config) string { return c.AppID },
		envAppSecret:       func(c *Config) string { return c.AppSecret.Reveal() },
		envToken:           func(c *Config) string { return c.Token.Reveal() },
		envEncodingAESKey:  func(c *Config) string { return c.EncodingAESKey.Reveal() },
		envAPIBase:         func(c *Config) string { return c.APIBase.String() },
		envListenAddr:      func(c *Config) string { return c.ListenAddr },
		envCallbackPath:    func(c *Config) string { return c.CallbackPath },
		envMaxClockSkew:    func(c *Config) string { return c.MaxClockSkew.String() },
		envRulesFile:       func(c *Config) string { return c.RulesFile },
		envLogLevel:        func(c *Config) string { return c.LogLevel.String() },
		envLogFormat:       func(c *Config) string { return string(c.LogFormat) },
		envShutdownTimeout: func(c *Config) string { return c.ShutdownTimeout.String() },
		envHTTPTimeout:     func(c *Config) string { return c.HTTPTimeout.String() },
		envTokenStore: func(c *Config) string {
			s := c.TokenStore
			return fmt.Sprintf("%s|%s|%s|%s", s.Kind, s.Path, s.Redis.Topology(), s)
		},
		envDedupStore:         func(c *Config) string { return c.DedupStore.String() },
		envDedupCacheSize:     func(c *Config) string { return fmt.Sprint(c.DedupCacheBytes) },
		envDedupRedisSize:     func(c *Config) string { return fmt.Sprint(c.DedupRedisBytes) },
		envNgrokAuthtoken:     func(c *Config) string { return c.NgrokAuthtoken.Reveal() },
		envAdminSecureCookie:  func(c *Config) string { return fmt.Sprint(c.AdminSecureCookie) },
		envTokenMode:          func(c *Config) string { return string(c.TokenMode) },
		envTokenRefreshMargin: func(c *Config) string { return c.TokenRefreshMargin.String() },
		envTokenDailyLimit:    func(c *Config) string { return fmt.Sprint(c.TokenDailyLimit) },
		envTokenAPIKey:        func(c *Config) string { return c.TokenAPIKey.Reveal() },
		envReplyDeadline:      func(c *Config) string { return c.ReplyDeadline.String() },
		envForwardURL:         func(c *Config) string { return fmt.Sprint(c.ForwardURL) },
		envForwardTimeout:     func(c *Config) string { return c.ForwardTimeout.String() },
		envTrustedProxies:     func(c *Config) string { return strings.Join(c.TrustedProxies, "|") },
		envWeComAPIBase:       func(c *Config) string { return c.WeComAPIBase.String() },
		envAccountsFile: func(c *Config) string {
			names := make([]string, len(c.Accounts))
			for i, a := range c.Accounts {
				names[i] = a.Name
			}
			return c.AccountsFile + "|" + strings.Join(names, ",")
		},
		envMaxConnections: func(c *Config) string { return fmt.Sprint(c.MaxConnections) },
	}
}

func TestVariableValid(t *testing.T) {
	tests := []struct {
		key, value string
		extra      []string // other variables the case needs
		want       string
	}{
		{key: envAppID, value: "wx1234567890abcdef", want: "wx1234567890abcdef"},
		{key: envAppSecret, value: " s3cr3t ", want: "s3cr3t"},
		{key: envToken, value: "Token123", want: "Token123"},
		{key: envEncodingAESKey, value: validAESKey, extra: []string{envAppID, "wx1"}, want: validAESKey},
		// WeChat's own sample key sets the unused bits of its last character.
		{key: envEncodingAESKey, value: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", extra: []string{envAppID, "wx1"},
			want: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},
		{key: envAPIBase, value: "http://127.0.0.1:9999/", want: "http://127.0.0.1:9999"},
		{key: envAPIBase, value: "https://proxy.example.com/wx//", want: "https://proxy.example.com/wx"},
		{key: envListenAddr, value: "127.0.0.1:0", want: "127.0.0.1:0"},
		{key: envListenAddr, value: "[::1]:65535", want: "[::1]:65535"},
		{key: envCallbackPath, value: "/wx/callback", want: "/wx/callback"},
		{key: envMaxClockSkew, value: "0", want: "0s"},
		{key: envMaxClockSkew, value: "90s", want: "1m30s"},
		{key: envRulesFile, value: "/etc/wxoa/rules.yaml", want: "/etc/wxoa/rules.yaml"},
		{key: envLogLevel, value: "DEBUG", want: "DEBUG"},
		{key: envLogLevel, value: "warn", want: "WARN"},
		{key: envLogLevel, value: "error", want: "ERROR"},
		{key: envLogFormat, value: "json", want: "json"},
		{key: envShutdownTimeout, value: "1m", want: "1m0s"},
		{key: envHTTPTimeout, value: "2500ms", want: "2.5s"},
		{key: envTokenStore, value: "memory", want: "memory|||memory"},
		{key: envTokenStore, value: "file:/var/lib/wxoa/token.json", want: "file|/var/lib/wxoa/token.json||file:/var/lib/wxoa/token.json"},
		{key: envTokenStore, value: "redis://127.0.0.1:6379/2", want: "redis||single|redis://127.0.0.1:6379/2"},
		{key: envTokenStore, value: "redis://app:p%40ss@redis.local", want: "redis||single|redis://app:xxxxx@redis.local"},
		{key: envTokenStore, value: "rediss://[::1]:6380/0?dial_timeout=2s", want: "redis||single|rediss://[::1]:6380/0?dial_timeout=2s"},
		{key: envTokenStore, value: "redis://:pw@s1:26379/0?master_name=mymaster&addr=s2:26379", want: "redis||sentinel|redis://:xxxxx@s1:26379/0?addr=s2%3A26379&master_name=mymaster"},
		{key: envTokenStore, value: "redis://n1:7000?addr=n2:7001&addr=n3:7002", want: "redis||cluster|redis://n1:7000?addr=n2%3A7001&addr=n3%3A7002"},
		{key: envDedupStore, value: "memory", want: "memory"},
		{key: envDedupStore, value: "redis://:pw@127.0.0.1:6380/3", want: "redis://:xxxxx@127.0.0.1:6380/3"},
		{key: envDedupCacheSize, value: "16MiB", want: "16777216"},
		{key: envNgrokAuthtoken, value: "2abcNGROK", want: "2abcNGROK"},
		{key: envAdminSecureCookie, value: "true", want: "true"},
		{key: envAdminSecureCookie, value: "OFF", want: "false"},
		{key: envDedupCacheSize, value: "100MB", want: "100000000"},
		{key: envDedupCacheSize, value: "2097152", want: "2097152"},
		{key: envDedupRedisSize, value: "1GiB", want: "1073741824"},
		{key: envTokenMode, value: "stable", want: "stable"},
		{key: envTokenRefreshMargin, value: "59m", want: "59m0s"},
		{key: envTokenDailyLimit, value: "100000", want: "100000"},
		{key: envTokenAPIKey, value: "0123456789abcdef", want: "0123456789abcdef"},
		{key: envReplyDeadline, value: "4999ms", want: "4.999s"},
		{key: envForwardURL, value: "http://127.0.0.1:9000/reply?key=k", want: "http://127.0.0.1:9000/reply?key=k"},
		{key: envForwardTimeout, value: "2m", want: "2m0s"},
		{key: envTrustedProxies, value: "127.0.0.1", want: "127.0.0.1"},
		{key: envTrustedProxies, value: " 10.0.0.0/8 , ::1,fd00::/8, ", want: "10.0.0.0/8|::1|fd00::/8"},
		{key: envWeComAPIBase, value: "http://127.0.0.1:9999/", want: "http://127.0.0.1:9999"},
		{key: envAccountsFile, value: "testdata/two.yaml", extra: []string{envToken, "", "OA_SECRET", "s1"},
			want: "testdata/two.yaml|oa,mini"},
		{key: envMaxConnections, value: "AUTO", want: "0"},
		{key: envMaxConnections, value: "1", want: "1"},
		{key: envMaxConnections, value: " 20000 ", want: "20000"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c, err := FromMap(base(append([]string{tt.key, tt.value}, tt.extra...)...))
			if err != nil {
				t.Fatalf("FromMap(%s=%q) = %v; want nil", tt.key, tt.value, err)
			}
			if got := fields()[tt.key](c); got != tt.want {
				t.Errorf("FromMap(%s=%q) gives %q; want %q", tt.key, tt.value, got, tt.want)
			}
		})
	}
}

func TestVariableInvalid(t *testing.T) {
	tests := []struct {
		key, value string
		extra      []string
		want       string // substring of the one error
	}{
		{key: envToken, value: "", want: "required"},
		{key: envToken, value: "   ", want: "required"},
		{key: envEncodingAESKey, value: "short", extra: []string{envAppID, "wx1"}, want: "43-character base64"},
		{key: envEncodingAESKey, value: strings.Repeat("!", 43), extra: []string{envAppID, "wx1"}, want: "got 43 characters"},
		{key: envEncodingAESKey, value: validAESKey, want: "WECHAT_APP_ID is empty"},
		{key: envAPIBase, value: "api.weixin.qq.com", want: "absolute http(s) URL"},
		{key: envAPIBase, value: "ftp://api.weixin.qq.com", want: "absolute http(s) URL"},
		{key: envAPIBase, value: "https://api.weixin.qq.com?x=1", want: "query"},
		{key: envListenAddr, value: "8080", want: "host:port"},
		{key: envListenAddr, value: ":http", want: "port must be a number"},
		{key: envListenAddr, value: ":65536", want: "port must be a number"},
		{key: envCallbackPath, value: "wechat", want: `starting with "/"`},
		{key: envCallbackPath, value: "/wechat?x=1", want: "without query"},
		{key: envMaxClockSkew, value: "5x", want: `"5x" is not a duration (e.g. 5m, 30s)`},
		{key: envMaxClockSkew, value: "-1s", want: "must not be negative"},
		{key: envLogLevel, value: "verbose", want: "debug, info, warn, error"},
		{key: envLogFormat, value: "xml", want: "text, json"},
		{key: envShutdownTimeout, value: "0", want: "greater than 0"},
		{key: envHTTPTimeout, value: "ten", want: "not a duration"},
		{key: envHTTPTimeout, value: "-1s", want: "greater than 0"},
		{key: envTokenStore, value: "disk", want: "memory, file:PATH, or a redis://"},
		{key: envTokenStore, value: "file:", want: "file:PATH"},
		{key: envTokenStore, value: "file:///tmp/t.json", want: "not a directory or a file:// URL"},
		{key: envTokenStore, value: "redis://", want: "no host"},
		{key: envTokenStore, value: "redis://h:6379/x", want: "database number"},
		{key: envTokenStore, value: "redis://h:6379/0?dial_timeout=soon", want: "dial_timeout"},
		{key: envTokenStore, value: "redis://h:6379/0?colour=red", want: "unexpected option: colour"},
		{key: envDedupStore, value: "disk", want: "memory, or a redis://"},
		{key: envDedupStore, value: "redis://h:6379/x", want: "database number"},
		{key: envDedupCacheSize, value: "lots", want: "not a size"},
		{key: envDedupCacheSize, value: "1KiB", want: "between 1MiB and 16GiB"},
		{key: envDedupRedisSize, value: "100KB", want: "between 1MiB and 64GiB"},
		{key: envAdminSecureCookie, value: "maybe", want: "not true or false"},
		{key: envTokenMode, value: "cached", want: "classic, stable"},
		{key: envToken, value: "ab", want: "3-32 letters or digits"},
		{key: envToken, value: strings.Repeat("a", 33), want: "got 33 characters"},
		{key: envToken, value: "my-token", want: "3-32 letters or digits"},
		{key: envToken, value: "tok en1", want: "value not shown"},
		{key: envTokenRefreshMargin, value: "0", want: "greater than 0s and less than 1h0m0s"},
		{key: envTokenRefreshMargin, value: "1h", want: "less than 1h0m0s"},
		{key: envTokenDailyLimit, value: "0", want: "not a positive integer"},
		{key: envTokenDailyLimit, value: "lots", want: "not a positive integer"},
		{key: envReplyDeadline, value: "5s", want: "less than 5s"},
		{key: envReplyDeadline, value: "0s", want: "greater than 0s"},
		{key: envForwardURL, value: "/relative", want: "absolute http(s) URL"},
		{key: envForwardURL, value: "tcp://127.0.0.1:9000", want: "absolute http(s) URL"},
		{key: envForwardTimeout, value: "0", want: "greater than 0"},
		{key: envTrustedProxies, value: "proxy.local", want: `"proxy.local": want IP addresses or CIDRs`},
		{key: envTrustedProxies, value: "10.0.0.1, 10.0.0.0/33, 300.1.1.1", want: `"10.0.0.0/33", "300.1.1.1": want`},
		{key: envTrustedProxies, value: "::ffff:10.0.0.1", want: "IPv4 written as such"},
		{key: envWeComAPIBase, value: "qyapi.weixin.qq.com", want: "absolute http(s) URL (e.g. https://qyapi.weixin.qq.com)"},
		{key: envAccountsFile, value: "testdata/absent.yaml", extra: []string{envToken, ""}, want: "testdata/absent.yaml does not exist"},
		{key: envMaxConnections, value: "0", want: "auto or a number of connections from 1 to 1048576"},
		{key: envMaxConnections, value: "-5", want: "from 1 to"},
		{key: envMaxConnections, value: "1048577", want: "from 1 to"},
		{key: envMaxConnections, value: "lots", want: `"lots" is not auto`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := FromMap(base(append([]string{tt.key, tt.value}, tt.extra...)...))
			errs := varErrors(t, err)
			if len(errs) != 1 || errs[0].Var != tt.key || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("FromMap(%s=%q) = %v; want one %s error containing %q", tt.key, tt.value, err, tt.key, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("FromMap(%s=%q) = %q; want it to start with %q", tt.key, tt.value, err, tt.key+": ")
			}
		})
	}
}

func TestEveryVariableTested(t *testing.T) {
	f := fields()
	for _, k := range Variables() {
		if f[k] == nil {
			t.Errorf("Variables() has %s; want a field renderer and test cases for it", k)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	bad := map[string]string{
		envListenAddr:   "nope",
		envMaxClockSkew: "5x",
		envLogLevel:     "loud",
	}
	tests := []struct {
		name  string
		token string
		want  []string // the variable each line is about, in order
	}{
		{"three bad", "tok", []string{envListenAddr, envMaxClockSkew, envLogLevel}},
		{"three bad and token missing", "", []string{envToken, envListenAddr, envMaxClockSkew, envLogLevel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{envToken: tt.token}
			maps.Copy(m, bad)
			_, err := FromMap(m)
			if err == nil {
				t.Fatalf("FromMap(%v) = nil; want an error", m)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("FromMap(%v) = %q; want %d lines", m, err, len(tt.want))
			}
			for i, k := range tt.want {
				if !strings.HasPrefix(lines[i], k+": ") {
					t.Errorf("line %d = %q; want it to start with %q", i, lines[i], k+": ")
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]string
		want []string // substrings, each in some warning
		not  []string // substrings in no warning
	}{
		{"defaults", base(), []string{"active calls", "TOKEN_API_KEY is empty", "plaintext"}, []string{"memory", "CLOCK_SKEW", "FORWARD_TIMEOUT"}},
		{"all set", base(envAppID, "wx1", envAppSecret, "s", envTokenAPIKey, strings.Repeat("k", 16), envEncodingAESKey, validAESKey), nil,
			[]string{"active calls", "TOKEN_API_KEY", "plaintext"}},
		{"secret missing", base(envAppID, "wx1"), []string{"WECHAT_APP_SECRET empty"}, []string{"WECHAT_APP_ID/"}},
		{"short key", base(envAppID, "wx1", envAppSecret, "s", envTokenAPIKey, "benchkey"), []string{"TOKEN_API_KEY is 8 characters"}, nil},
		{"key without credentials", base(envTokenAPIKey, strings.Repeat("k", 16)), []string{"cannot fetch a token"}, nil},
		{"memory store, no skew check", base(envTokenStore, "memory", envMaxClockSkew, "0"), []string{"TOKEN_STORE=memory", "WECHAT_MAX_CLOCK_SKEW is 0"}, nil},
		{"forward shorter than deadline", base(envForwardTimeout, "2s"), []string{"FORWARD_TIMEOUT (2s) is shorter than REPLY_DEADLINE (4.5s)"}, nil},
		{"everyone a proxy", base(envTrustedProxies, "10.0.0.1, 0.0.0.0/0"), []string{"TRUSTED_PROXIES contains 0.0.0.0/0"}, []string{"10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromMap(tt.m)
			if err != nil {
				t.Fatalf("FromMap(%v) = %v; want nil", tt.m, err)
			}
			all := strings.Join(c.Warnings(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("Warnings() = %q; want one containing %q", all, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(all, w) {
					t.Errorf("Warnings() = %q; want none containing %q", all, w)
				}
			}
		})
	}
}
