package jssdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

// The worked example of the JS-SDK docs, appendix 1.
const (
	officialTicket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
	officialNonce  = "Wm3WZYTPz0wzccnW"
	officialTime   = 1414587457
	officialURL    = "http://mp.weixin.qq.com?params=value"
	officialSig    = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
)

func TestSignature(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"official example", officialURL, officialSig},
		{"fragment stripped", officialURL + "#/section?x=1", officialSig},
		{"empty fragment stripped", officialURL + "#", officialSig},
		{"different url (sha1sum of the joined string)", "http://mp.weixin.qq.com?params=other", "18bca291bf944d07cfd1b955f3b277b00b1cdc03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Signature(officialTicket, officialNonce, officialTime, tt.url)
			if got != tt.want {
				t.Errorf("Signature(…, %q) = %q; want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	now := time.Unix(officialTime, 0).In(time.FixedZone("UTC+8", 8*3600))
	cfg, err := NewConfig("wx0123456789abcdef", officialTicket, officialURL+"#top", now, officialNonce)
	if err != nil {
		t.Fatalf("NewConfig() = %v; want nil", err)
	}
	want := Config{AppID: "wx0123456789abcdef", Timestamp: officialTime, NonceStr: officialNonce, Signature: officialSig}
	if cfg != want {
		t.Errorf("NewConfig() = %+v; want %+v", cfg, want)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"appId":"wx0123456789abcdef","timestamp":1414587457,"nonceStr":"Wm3WZYTPz0wzccnW","signature":"0f9de62fce790f9a083d5c99e95740ceb90c27ed"}`
	if string(b) != wantJSON {
		t.Errorf("json.Marshal(config) = %s; want %s", b, wantJSON)
	}
}

func TestNewConfigDrawsNonce(t *testing.T) {
	now := time.Unix(officialTime, 0)
	cfg, err := NewConfig("wx1", officialTicket, officialURL, now, "")
	if err != nil {
		t.Fatalf("NewConfig(nonce \"\") = %v; want nil", err)
	}
	if len(cfg.NonceStr) != NonceLen || !validNonce(cfg.NonceStr) {
		t.Errorf("NewConfig(nonce \"\").NonceStr = %q; want %d letters or digits", cfg.NonceStr, NonceLen)
	}
	if want := Signature(officialTicket, cfg.NonceStr, officialTime, officialURL); cfg.Signature != want {
		t.Errorf("NewConfig(nonce \"\").Signature = %q; want %q", cfg.Signature, want)
	}
}

func TestNewConfigErrors(t *testing.T) {
	now := time.Unix(officialTime, 0)
	long := "https://example.com/?q=" + strings.Repeat("a", MaxURLBytes)
	tests := []struct {
		name, appID, ticket, url, nonce string
		now                             time.Time
		want                            string
	}{
		{"empty url", "wx1", "T", "", "n", now, "jssdk config: page url is empty"},
		{"relative url", "wx1", "T", "/pay?x=1", "n", now, `page url must be absolute http or https (scheme is "")`},
		{"no scheme", "wx1", "T", "example.com/pay", "n", now, `page url must be absolute http or https (scheme is "")`},
		{"ftp url", "wx1", "T", "ftp://example.com/", "n", now, `(scheme is "ftp")`},
		{"javascript url", "wx1", "T", "javascript:alert(1)", "n", now, `(scheme is "javascript")`},
		{"no host", "wx1", "T", "https:///pay", "n", now, "page url has no host"},
		{"control char", "wx1", "T", "https://example.com/\npay", "n", now, "page url is invalid: net/url: invalid control character in URL"},
		{"too long", "wx1", "T", long, "n", now, "page url is 2071 bytes, at most 2048"},
		{"empty app id", "", "T", officialURL, "n", now, "app id is empty"},
		{"empty ticket", "wx1", "", officialURL, "n", now, "jsapi_ticket is empty"},
		{"zero time", "wx1", "T", officialURL, "n", time.Time{}, "time is zero"},
		{"nonce with ampersand", "wx1", "T", officialURL, "a&url=x", now, "nonce must be 1 to 32 letters or digits"},
		{"nonce too long", "wx1", "T", officialURL, strings.Repeat("a", 33), now, "nonce must be 1 to 32 letters or digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := NewConfig(tt.appID, tt.ticket, tt.url, tt.now, tt.nonce)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewConfig(url %q) = %v; want an error containing %q", tt.url, err, tt.want)
			}
			if cfg != (Config{}) {
				t.Errorf("NewConfig(url %q) config = %+v; want zero on error", tt.url, cfg)
			}
			if strings.Contains(err.Error(), "pay") {
				t.Errorf("NewConfig error %q quotes the page url", err)
			}
		})
	}

	// The exact limit still signs.
	atLimit := "https://example.com/?q=" + strings.Repeat("a", MaxURLBytes-len("https://example.com/?q="))
	if _, err := NewConfig("wx1", "T", atLimit, now, "n"); err != nil {
		t.Errorf("NewConfig(%d-byte url) = %v; want nil", len(atLimit), err)
	}
}

func TestNewNonce(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 200 {
		n, err := NewNonce()
		if err != nil {
			t.Fatalf("NewNonce() = %v; want nil", err)
		}
		if len(n) != NonceLen {
			t.Fatalf("NewNonce() = %q (%d chars); want %d", n, len(n), NonceLen)
		}
		for _, r := range n {
			if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				t.Fatalf("NewNonce() = %q; want only [A-Za-z0-9]", n)
			}
			counts[r]++
		}
		if seen[n] {
			t.Fatalf("NewNonce() repeated %q", n)
		}
		seen[n] = true
	}
	// 3,200 draws over 62 symbols: every symbol shows up unless the
	// alphabet is wired wrong (missing one has probability ~62·e^-51.6).
	if len(counts) != len(alphabet) {
		t.Errorf("NewNonce() used %d distinct symbols over 200 nonces; want %d", len(counts), len(alphabet))
	}
}

func BenchmarkSignature(b *testing.B) {
	for b.Loop() {
		Signature(officialTicket, officialNonce, officialTime, officialURL)
	}
}

func BenchmarkNewNonce(b *testing.B) {
	for b.Loop() {
		if _, err := NewNonce(); err != nil {
			b.Fatal(err)
		}
	}
}

type ticketFunc func(context.Context) (string, error)

func (f ticketFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

func TestSigner(t *testing.T) {
	now := time.Unix(1700000000, 0)
	asked := 0
	s := &Signer{AppID: "wx1", Now: func() time.Time { return now },
		Tickets: ticketFunc(func(context.Context) (string, error) { asked++; return "TICKET", nil })}
	c, err := s.Sign(context.Background(), "https://example.com/p?x=1#frag")
	if err != nil || c.AppID != "wx1" || c.Timestamp != now.Unix() || c.Signature != Signature("TICKET", c.NonceStr, now.Unix(), "https://example.com/p?x=1") {
		t.Errorf("Sign() = %+v, %v; want a config signed with the ticket", c, err)
	}
	for _, bad := range []string{"", "/relative", "javascript:alert(1)", "https://"} {
		if _, err := s.Sign(context.Background(), bad); !errors.Is(err, ErrBadURL) {
			t.Errorf("Sign(%q) = %v; want ErrBadURL", bad, err)
		}
	}
	if asked != 1 {
		t.Errorf("tickets asked for %d times; want 1 (bad URLs ask for none)", asked)
	}
	s.Tickets = ticketFunc(func(context.Context) (string, error) { return "", errors.New("down") })
	if _, err := s.Sign(context.Background(), "https://example.com/"); err == nil || errors.Is(err, ErrBadURL) {
		t.Errorf("Sign() with no ticket = %v; want a ticket error, not ErrBadURL", err)
	}
}
