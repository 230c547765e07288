package api_test

import (
	"net/http"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

// BenchmarkFetchAccessToken measures one fetch over loopback HTTP, the
// client's overhead being a small part of it.
func BenchmarkFetchAccessToken(b *testing.B) {
	for _, mode := range []api.Mode{api.ModeClassic, api.ModeStable} {
		b.Run(string(mode), func(b *testing.B) {
			s := wechattest.NewServer(b)
			c, err := api.New(api.Config{BaseURL: s.URL, AppID: s.AppID(), AppSecret: "testsecret", Mode: mode, HTTP: s.Client()})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.FetchAccessToken(b.Context(), false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDo measures an authenticated GET.
func BenchmarkDo(b *testing.B) {
	s := wechattest.NewServer(b)
	c, err := api.New(api.Config{BaseURL: s.URL, AppID: s.AppID(), AppSecret: "testsecret", HTTP: s.Client()})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := c.FetchAccessToken(b.Context(), false)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.DoWith(b.Context(), http.MethodGet, "/cgi-bin/menu/delete", tok.Value.Reveal(), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
