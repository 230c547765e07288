package banner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var allAPIs = []API{{"token API", true}, {"drop-in", true}, {"JS-SDK", false}, {"metrics", false}, {"admin", true}}

func TestBannerGolden(t *testing.T) {
	tests := []struct {
		name string
		info Info
	}{
		{"dev_plaintext", Info{
			Version: "(devel)", Store: "file:data/access_token.json", ListenAddr: ":8080", CallbackPath: "/wechat",
			APIs: []API{{"token API", false}, {"drop-in", false}, {"JS-SDK", false}, {"metrics", false}, {"admin", false}},
		}},
		{"tunnel_safe", Info{
			Version: "v0.0.0-20260101120000-1a2b3c4d5e6f+dirty (rev 1a2b3c4, modified)", EnvFile: ".env", AESKey: true,
			Store: "memory", ListenAddr: "127.0.0.1:8080", CallbackPath: "/wx/callback",
			PublicURL: "https://abcd-1-2-3-4.ngrok-free.app/", APIs: allAPIs,
		}},
		{"redis_password_masked", Info{
			Version: "v1.2.0 (rev 1a2b3c4)", EnvFile: "/etc/wxoa/env", AESKey: true,
			Store: "redis://:hunter2@redis.internal:6379/0", ListenAddr: ":80", CallbackPath: "/wechat",
			APIs: allAPIs[:2],
		}},
		{"empty", Info{}},
		// One account: its own mode and callback, whatever the globals say.
		{"one_account", Info{
			Version: "v1.3.0", EnvFile: ".env", Store: "file:data/access_token.json", ListenAddr: ":8080",
			CallbackPath: "/ignored", APIs: allAPIs,
			Accounts: []Account{{Name: "default", Kind: "official_account", CallbackPath: "/wechat", Callback: true, AESKey: true}},
		}},
		{"three_accounts", Info{
			Version: "v1.3.0", EnvFile: ".env", Store: "redis://redis.internal:6379/0", ListenAddr: ":8080", APIs: allAPIs,
			Accounts: []Account{
				{Name: "shop", Kind: "official_account", CallbackPath: "/wechat/shop", Callback: true},
				{Name: "miniapp", Kind: "mini_program", CallbackPath: "/wechat/miniapp", Callback: true, AESKey: true},
				{Name: "hr", Kind: "wecom"},
			},
		}},
		// Seven with a tunnel: the first five, a count of the rest, and
		// the tunnel's base for every account's path.
		{"seven_accounts_tunnel", Info{
			Version: "v1.3.0", Store: "memory", ListenAddr: "127.0.0.1:8080",
			PublicURL: "https://abcd-1-2-3-4.ngrok-free.app/", APIs: allAPIs, Accounts: seven(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Banner(tt.info)
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/banner -update)", err)
			}
			if got != string(want) {
				t.Errorf("Banner(%s) differs from %s:\n--- got\n%s--- want\n%s", tt.name, path, got, want)
			}
			if n := strings.Count(got, "\n"); n < 6 || n > 10 {
				t.Errorf("Banner(%s) has %d lines; want 6 to 10", tt.name, n)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "\x1b") {
				t.Errorf("Banner(%s) shows a password or a colour:\n%s", tt.name, got)
			}
		})
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name    string
		version string
		set     []debug.BuildSetting
		want    string
	}{
		{"go run", "", nil, "(devel)"},
		{"devel, no vcs", "(devel)", nil, "(devel)"},
		{"tagged", "v1.2.0", vcs("1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d", "false"), "v1.2.0 (rev 1a2b3c4)"},
		{"pseudo, dirty", "v0.0.0-20260101120000-1a2b3c4d5e6f+dirty", vcs("1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d", "true"),
			"v0.0.0-20260101120000-1a2b3c4d5e6f+dirty (rev 1a2b3c4, modified)"},
		{"no version, vcs", "", vcs("abc", "true"), "(devel) (rev abc, modified)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "wxoa", Version: tt.version}, Settings: tt.set}
			if got := versionOf(bi); got != tt.want {
				t.Errorf("versionOf(%q, %v) = %q; want %q", tt.version, tt.set, got, tt.want)
			}
		})
	}
}

func TestBuildVersion(t *testing.T) {
	if v := BuildVersion(); v == "" || strings.Contains(v, "\n") {
		t.Errorf("BuildVersion() = %q; want one non-empty line", v)
	}
}

func seven() []Account {
	var as []Account
	for i := range 7 {
		name := fmt.Sprintf("acct%d", i)
		as = append(as, Account{Name: name, Kind: "official_account", CallbackPath: "/wechat/" + name, Callback: true})
	}
	return as
}
