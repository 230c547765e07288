package config

import (
	"wxoa/wechat/token"

	"strings"
	"testing"
)

func TestSecretsNotInErrors(t *testing.T) {
	const pw = "hunter2Secret"
	tests := []struct{ key, value string }{
		{envTokenStore, "redis://user:" + pw + "@h:notaport/0"},
		{envTokenStore, "redis://user:" + pw + "@h:6379/x"},
		{envTokenStore, "redis://user:" + pw + "@/0"},
		{envTokenStore, "redis://user:" + pw + "%zz@h:6379/0"},
		{envTokenStore, "redis://user:" + pw + "/x@h:6379/0"},
		{envTokenStore, "redis://:" + pw + "@h:6379/0?x=1"},
		{envTokenStore, "redis:/user:" + pw + "@h:6379/0"},
		{envTokenStore, "memcache://user:" + pw + "@h:11211"},
		{envDedupStore, "redis:/user:" + pw + "@h:6379/0"},
		{envAPIBase, "https://user:" + pw + "@api.example.com"},
		{envAPIBase, "https://proxy.example.com/wx?key=" + pw},
		{envEncodingAESKey, pw + strings.Repeat("A", 43-len(pw)-1) + "!"},
		{envForwardURL, "ftp://x/?key=" + pw},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := FromMap(base(tt.key, tt.value, envAppID, "wx1"))
			if err == nil {
				t.Fatalf("FromMap(%s=...) = nil; want an error", tt.key)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("FromMap(%s=...) = %q; want no %q in it", tt.key, err, pw)
			}
		})
	}
}

func TestStoreSpecString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"memory", "memory"},
		{"file:data/t.json", "file:data/t.json"},
		{"redis://127.0.0.1:6379/1", "redis://127.0.0.1:6379/1"},
		{"redis://u:hunter2@h", "redis://u:xxxxx@h"},
		{"rediss://:hunter2@h:1/3", "rediss://:xxxxx@h:1/3"},
		{"redis://u@h:1", "redis://u@h:1"},
	}
	for _, tt := range tests {
		c, err := FromMap(base(envTokenStore, tt.in))
		if err != nil {
			t.Fatalf("FromMap(TOKEN_STORE=%q) = %v; want nil", tt.in, err)
		}
		if got := c.TokenStore.String(); got != tt.want {
			t.Errorf("TokenStore(%q).String() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// A Redis URL missing its "//" is named as such, in either variable,
// with the URL it probably meant.
func TestRedisURLMissingSlashes(t *testing.T) {
	for _, key := range []string{envTokenStore, envDedupStore} {
		_, err := FromMap(base(key, "redis:/nohost"))
		want := key + `: redis URL has no "//" after "redis:": did you mean redis://nohost?`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FromMap(%s=redis:/nohost) = %v; want %q", key, err, want)
		}
	}
}

// A short API key is accepted with a warning that does not repeat it.
func TestShortAPIKeyWarningHidesKey(t *testing.T) {
	c, err := FromMap(base(envTokenAPIKey, "Sec"+"ret12"))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(c.Warnings(), "\n"); !strings.Contains(w, "8 characters") || strings.Contains(w, "Secret12") {
		t.Errorf("Warnings() = %q; want the length and not the key", w)
	}
}

// TOKEN_STORE is parsed once: the typed spec opens as it is.
func TestTokenStoreSpecOpens(t *testing.T) {
	c, err := FromMap(base(envTokenStore, "file:"+t.TempDir()+"/t.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, closer, err := token.Open(c.TokenStore, token.Options{Name: "access_token"})
	if err != nil || s == nil {
		t.Fatalf("token.Open(%v) = %v", c.TokenStore, err)
	}
	closer.Close()
}

// The admin page's sign-outs live beside the token files under a name of
// their own: a token file of that name is refused.
func TestStoreNotTheSignOutsFile(t *testing.T) {
	_, err := FromMap(base(envTokenStore, "file:/var/lib/wxoa/"+AdminSessionsFile))
	if err == nil || !strings.Contains(err.Error(), "TOKEN_STORE") || !strings.Contains(err.Error(), AdminSessionsFile) {
		t.Errorf("TOKEN_STORE=file:.../%s: %v; want an error naming both", AdminSessionsFile, err)
	}
	if _, err := FromMap(base(envTokenStore, "file:/var/lib/wxoa/access_token.json")); err != nil {
		t.Errorf("TOKEN_STORE=file:.../access_token.json: %v", err)
	}
}
