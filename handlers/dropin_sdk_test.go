package handlers

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkcache "github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	sdkutil "github.com/silenceper/wechat/v2/util"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

// pointSDKAt redirects silenceper's token calls to base, the way README
// tells SDK users to; it is the SDK's own package-level hook, restored after.
func pointSDKAt(t *testing.T, base string) {
	sdkutil.SetURIModifier(func(uri string) string {
		for _, p := range []string{"/cgi-bin/token", "/cgi-bin/stable_token"} {
			if strings.HasPrefix(uri, "https://api.weixin.qq.com"+p) {
				return base + strings.TrimPrefix(uri, "https://api.weixin.qq.com")
			}
		}
		return uri
	})
	t.Cleanup(func() { sdkutil.SetURIModifier(nil) })
}

// The drop-in endpoints, exercised by silenceper's own token code pointed at
// a real server that runs our router over a real token manager.
func TestDropInWithSilenceperClient(t *testing.T) {
	fake := wechattest.NewServer(t)
	client, err := api.New(api.Config{BaseURL: fake.URL, AppID: fake.AppID(), AppSecret: wechat.Secret(fake.AppSecret()), HTTP: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewManager(token.Config{Name: "access_token", Store: token.NewMemoryStore(), Fetcher: client.AccessTokenFetcher()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h, err := NewRouter(Deps{APIKey: testAPIKey, Accounts: accounts(t, testAcct(func(a *Account) {
		a.Tokens, a.AppID, a.Secret = m, fake.AppID(), wechat.Secret(fake.AppSecret())
	}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	pointSDKAt(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	want, err := m.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	handles := map[string]credential.AccessTokenContextHandle{
		"classic": credential.NewDefaultAccessToken(fake.AppID(), fake.AppSecret(), "a_", sdkcache.NewMemory()),
		"stable":  credential.NewStableAccessToken(fake.AppID(), fake.AppSecret(), "b_", sdkcache.NewMemory()),
	}
	for name, hd := range handles {
		got, err := hd.GetAccessTokenContext(ctx)
		if err != nil || got != want {
			t.Errorf("%s SDK token = %q, %v; want the shared token", name, got, err)
		}
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("upstream token calls = %d; want 1 (SDKs share the managed token)", n)
	}

	wrong := credential.NewDefaultAccessToken(fake.AppID(), "wrong-secret", "c_", sdkcache.NewMemory())
	if _, err := wrong.GetAccessTokenContext(ctx); err == nil || !strings.Contains(err.Error(), "40125") {
		t.Errorf("SDK with a wrong secret: %v; want errcode 40125", err)
	}
	wrongApp := credential.NewStableAccessToken("wx_other", fake.AppSecret(), "d_", sdkcache.NewMemory())
	if _, err := wrongApp.GetAccessTokenContext(ctx); err == nil || !strings.Contains(err.Error(), "40013") {
		t.Errorf("SDK with a wrong appid: %v; want errcode 40013", err)
	}
}
