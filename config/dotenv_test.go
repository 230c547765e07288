package config

import (
	"wxoa/wechat/token"

	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeDotenv writes content to a fresh .env and returns its path.
func writeDotenv(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env fakes a process environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadEnvWinsOverDotenv(t *testing.T) {
	path := writeDotenv(t, "WECHAT_TOKEN=fromfile\nLISTEN_ADDR=:9000\nLOG_LEVEL=debug\n")
	c, err := Load(env(map[string]string{
		envToken:    "fromenv",
		envLogLevel: "", // empty in the environment: .env still applies
	}), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want nil", path, err)
	}
	tests := []struct{ name, got, want string }{
		{"Token", c.Token.Reveal(), "fromenv"},
		{"ListenAddr", c.ListenAddr, ":9000"},
		{"LogLevel", c.LogLevel.String(), "DEBUG"},
		{"CallbackPath", c.CallbackPath, "/wechat"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("Load(env, .env).%s = %q; want %q", tt.name, tt.got, tt.want)
		}
	}
}

// An env file named explicitly must exist; ./.env is read only if present;
// "none" reads nothing. Config.EnvFile names what was read.
func TestLoadMissingDotenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.env")
	if _, err := Load(env(map[string]string{envToken: "tok"}), path); err == nil || !strings.Contains(err.Error(), path+" does not exist") {
		t.Errorf("Load(%s) = %v; want an error naming the missing file", path, err)
	}
	c, err := Load(env(map[string]string{envToken: "tok"}), NoEnvFile)
	if err != nil || c.Token.Reveal() != "tok" || c.EnvFile != "" {
		t.Errorf("Load(none) = %v, EnvFile %q; want the environment alone", err, c.EnvFile)
	}
	t.Chdir(t.TempDir()) // no .env here
	if c, err := Load(env(map[string]string{envToken: "tok"}), ""); err != nil || c.EnvFile != "" {
		t.Errorf(`Load("") without ./.env = %v, EnvFile %q; want nil and none`, err, c.EnvFile)
	}
	real := writeDotenv(t, "WECHAT_TOKEN=fromfile\n")
	if c, err := Load(env(nil), real); err != nil || c.EnvFile != real {
		t.Errorf("Load(%s) = %v, EnvFile %q; want it named", real, err, c.EnvFile)
	}
}

func TestLoadDefaultPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("WECHAT_TOKEN=cwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatalf(`Load(env, "") = %v; want nil`, err)
	}
	if c.Token.Reveal() != "cwd" {
		t.Errorf(`Load(env, "").Token = %q; want %q`, c.Token.Reveal(), "cwd")
	}
}

func TestLoadLeavesProcessEnvAlone(t *testing.T) {
	const marker = "WXOA_CONFIG_TEST_MARKER"
	path := writeDotenv(t, "WECHAT_TOKEN=tok\n"+marker+"=1\n")
	if _, err := Load(env(nil), path); err != nil {
		t.Fatalf("Load(%s) = %v; want nil", path, err)
	}
	if v, ok := os.LookupEnv(marker); ok {
		t.Errorf("after Load, os.LookupEnv(%s) = %q; want unset", marker, v)
	}
}

func TestLoadMalformedDotenv(t *testing.T) {
	const secret = "hunter2Secret"
	tests := []struct {
		name, content string
		want          string
	}{
		{"bad key", "WECHAT_TOKEN=tok\n# comment\n\nBAD-KEY=" + secret + "\n", ": line 4: unexpected character \"-\""},
		{"no equals", "WECHAT_TOKEN=tok\n" + secret + " oops\n", ": line 2: unexpected character"},
		{"crlf", "WECHAT_TOKEN=tok\r\nA=1\r\nB C!=" + secret + "\r\n", ": line 3: unexpected character \"!\""},
		{"unterminated", "WECHAT_TOKEN=tok\nWECHAT_APP_SECRET=\"" + secret + "\nLOG_LEVEL=info\n", ": line 2: unterminated quoted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeDotenv(t, tt.content)
			_, err := Load(env(nil), path)
			if err == nil {
				t.Fatalf("Load(%q) = nil; want an error", tt.content)
			}
			if msg := err.Error(); !strings.Contains(msg, path+tt.want) || strings.Contains(msg, secret) {
				t.Errorf("Load(%q) = %q; want %q, without %q", tt.content, msg, path+tt.want, secret)
			}
		})
	}
}

func TestLoadUnreadableDotenv(t *testing.T) {
	path := t.TempDir() // a directory: open works, read fails
	_, err := Load(env(map[string]string{envToken: "tok"}), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(%s) = %v; want an error naming the path", path, err)
	}
}

func TestLoadWarnsAboutUnknownKeys(t *testing.T) {
	path := writeDotenv(t, "WECHAT_TOKEN=tok\nWECHAT_APPID=wx1\nHOME_DIR=/x\n")
	c, err := Load(env(nil), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want nil", path, err)
	}
	all := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(all, "unknown variable WECHAT_APPID") || strings.Contains(all, "HOME_DIR") {
		t.Errorf("Warnings() = %q; want WECHAT_APPID flagged and HOME_DIR not", all)
	}
}

// TestEnvExample keeps .env.example in step with the code: it documents
// every variable and, copied to .env, starts the server offline.
func TestEnvExample(t *testing.T) {
	const path = "../.env.example"
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(nil), path)
	if err != nil {
		t.Fatalf("Load(%s) = %v; want nil", path, err)
	}
	if c.ActiveCalls() || c.TokenStore.Kind != token.KindFile || !c.TokenAPIKey.Empty() {
		t.Errorf("Load(%s) = ActiveCalls %v, TokenStore %v, TokenAPIKey set %v; want offline defaults",
			path, c.ActiveCalls(), c.TokenStore, !c.TokenAPIKey.Empty())
	}
	if notes := c.notes; len(notes) > 0 {
		t.Errorf("Load(%s) notes = %q; want none", path, notes)
	}
	// A commented-out assignment ("# KEY=...") counts as documented.
	for _, k := range Variables() {
		re := regexp.MustCompile(`(?m)^(# ?)?` + k + `=`)
		if !re.Match(content) {
			t.Errorf("%s does not mention %s=...; want every variable documented", path, k)
		}
	}
}

// TestEnvExampleDefaults checks that the defaults .env.example shows in
// "# NAME=value" lines are the ones the code applies.
func TestEnvExampleDefaults(t *testing.T) {
	content, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^# ([A-Z_]+)=(.*)$`).FindAllStringSubmatch(string(content), -1) {
		shown[m[1]] = m[2]
	}
	shown[envToken] = "devtoken"
	fromExample, err := FromMap(shown)
	if err != nil {
		t.Fatalf("FromMap(.env.example defaults) = %v; want nil", err)
	}
	builtin, err := FromMap(base())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fromExample.String(), builtin.String(); got != want {
		t.Errorf("FromMap(.env.example defaults) = %s; want the built-in defaults %s", got, want)
	}
}
