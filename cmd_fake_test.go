package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"wxoa/config"
	"wxoa/wechat"
	"wxoa/wechat/api"
)

// fakeAccount is an account of the file `wxoa fake --write-accounts` writes.
type fakeAccount struct {
	Name           string `yaml:"name"`
	Kind           string `yaml:"kind"`
	Token          string `yaml:"token"`
	APIBase        string `yaml:"api_base"`
	AppID          string `yaml:"app_id"`
	AppSecret      string `yaml:"app_secret"`
	CorpID         string `yaml:"corp_id"`
	CorpSecret     string `yaml:"corp_secret"`
	AgentID        string `yaml:"agent_id"`
	EncodingAESKey string `yaml:"encoding_aes_key"`
}

// `wxoa fake` with several apps writes a .env and an accounts file a
// server can start from, serves each app with the tokens' lifetime asked
// for, and lets a person retire an app's token from outside.
func TestFakeCommandSeveralApps(t *testing.T) {
	dir := t.TempDir()
	envPath, accPath := filepath.Join(dir, ".env"), filepath.Join(dir, "accounts.yaml")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxoa", "fake", "--addr", addr, "--wecom", "wwcorp0001:1000002:wecomsecret",
			"--app", "wxoa0000000000a1:oasecret", "--mini-program", "wxmini00000000b2:minisecret",
			"--expires-in", "60s", "--overlap", "10s", "--write-env", envPath, "--write-accounts", accPath},
			mapGetenv(nil), nil, &out, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("fake = %v; want nil after interrupt", err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Revoke"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fake printed %q", out.String())
		}
	}
	if strings.Contains(out.String(), "secret") {
		t.Errorf("fake printed %q; with --write-env and --write-accounts the secrets go to the files only", out.String())
	}

	dotenv := readPrivate(t, envPath)
	for _, re := range []string{`(?m)^ACCOUNTS_FILE=` + regexp.QuoteMeta(accPath) + `$`, `(?m)^WECHAT_API_BASE=http://` + addr + `$`,
		`(?m)^WECOM_API_BASE=http://` + addr + `/wecom$`, `(?m)^TOKEN_API_KEY=[0-9a-f]{24,}$`, `(?m)^TOKEN_STORE=file:\S+$`} {
		if !regexp.MustCompile(re).MatchString(dotenv) {
			t.Errorf(".env = %q; want a line matching %s", dotenv, re)
		}
	}
	if strings.Contains(dotenv, "WECHAT_APP_ID") {
		t.Errorf(".env = %q; with ACCOUNTS_FILE the single-account variables must be unset", dotenv)
	}
	var file struct{ Accounts []fakeAccount }
	if err := yaml.Unmarshal([]byte(readPrivate(t, accPath)), &file); err != nil {
		t.Fatalf("accounts file: %v", err)
	}
	byKind := map[string]fakeAccount{}
	for _, a := range file.Accounts {
		if !config.AccountNamePattern.MatchString(a.Name) || a.Token == "" {
			t.Errorf("account %+v: want a valid name and a callback token", a)
		}
		byKind[a.Kind] = a
	}
	oa, mini, wecom := byKind["official_account"], byKind["mini_program"], byKind["wecom"]
	if len(file.Accounts) != 3 || oa.AppID != "wxoa0000000000a1" || mini.AppSecret != "minisecret" ||
		wecom.CorpID != "wwcorp0001" || wecom.AgentID != "1000002" || wecom.APIBase != "http://"+addr+"/wecom" {
		t.Fatalf("accounts = %+v; want the three apps of the command line", file.Accounts)
	}
	if _, err := wechat.DecodeAESKey(wecom.EncodingAESKey); err != nil {
		t.Errorf("WeCom encoding_aes_key %q: %v", wecom.EncodingAESKey, err)
	}

	// Each account's token, from its api_base, lives --expires-in; a token
	// retired through the control endpoint is then rejected.
	for _, a := range []fakeAccount{oa, mini, wecom} {
		cfg := api.Config{BaseURL: a.APIBase, AppID: a.AppID, AppSecret: wechat.Secret(a.AppSecret), HTTP: &http.Client{Timeout: 5 * time.Second}}
		if a.Kind == "wecom" {
			cfg.Platform, cfg.AppID, cfg.AppSecret, cfg.AgentID = wechat.PlatformWeCom, a.CorpID, wechat.Secret(a.CorpSecret), a.AgentID
		}
		c, err := api.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.FetchAccessToken(t.Context(), false)
		if err != nil || tok.ExpiresAt.Sub(tok.FetchedAt) != time.Minute {
			t.Fatalf("%s: FetchAccessToken() = %v, %v; want a token for 60 s", a.Name, tok, err)
		}
		if a.Kind == "wecom" {
			continue
		}
		resp, err := http.Post("http://"+addr+"/wechattest/fetch-elsewhere?appid="+a.AppID, "", nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: POST fetch-elsewhere = %v, %v; want 200", a.Name, resp, err)
		}
		resp.Body.Close()
		if err := c.CheckAccessToken(t.Context(), tok.Value.Reveal()); !errors.Is(err, wechat.ErrTokenInvalid) {
			t.Errorf("%s: CheckAccessToken() after fetch-elsewhere = %v; want ErrTokenInvalid", a.Name, err)
		}
	}
}

// readPrivate reads a file that must be readable by its owner only.
func readPrivate(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Bad flags fail before anything listens, without echoing a secret; an
// existing file is never overwritten.
func TestFakeCommandRefuses(t *testing.T) {
	existing := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(existing, []byte("KEEP=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"app without a secret", []string{"--app", "wxonly"}, "--app: want APPID:SECRET"},
		{"wecom agent not digits", []string{"--wecom", "ww1:agent:S3CRET"}, "agent id must be digits"},
		{"appid twice", []string{"--app", "wxa:S3CRET", "--mini-program", "wxa:S3CRET2"}, "wxa is given twice"},
		{"wecom application twice", []string{"--wecom", "ww1:1:S3CRET", "--wecom", "ww1:1:S3CRET2"}, "ww1 is given twice"},
		{"expiry not whole seconds", []string{"--expires-in", "1500ms"}, "whole seconds"},
		{"no overlap", []string{"--overlap", "0s"}, "whole seconds"},
		{"existing .env", []string{"--write-env", existing}, "not overwriting"},
		{"arguments", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"wxoa", "fake", "--addr", "127.0.0.1:0"}, tt.args...)
			err := run(t.Context(), args, mapGetenv(nil), nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("fake %q = %v; want an error about %q without the secret", tt.args, err, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "KEEP=1\n" {
		t.Errorf("existing .env = %q, %v; want it untouched", b, err)
	}
}
