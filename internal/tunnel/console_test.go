package tunnel

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/tunnel -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

const testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

var consoles = []struct {
	name string
	c    Console
}{
	{"plaintext", Console{CallbackPath: "/wechat", Token: "mytoken123"}},
	{"safe", Console{CallbackPath: "/wx/callback", Token: "mytoken123", AESKey: testAESKey}},
	{"no_token", Console{CallbackPath: "/wechat"}},
}

func TestConsoleValuesGolden(t *testing.T) {
	for _, tt := range consoles {
		t.Run(tt.name, func(t *testing.T) {
			got := ConsoleValues("https://abcd-1-2-3-4.ngrok-free.app/", tt.c)
			golden(t, "console_"+tt.name, got)
			if !strings.Contains(got, "https://abcd-1-2-3-4.ngrok-free.app"+tt.c.CallbackPath+"\n") {
				t.Errorf("ConsoleValues(%+v) lacks the callback URL:\n%s", tt.c, got)
			}
		})
	}
}

func TestHelpGolden(t *testing.T) {
	for _, tt := range consoles[:2] {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "help_"+tt.name, Help("8080", tt.c))
		})
	}
}

func TestPad(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"URL", "URL             "},
		{"EncodingAESKey", "EncodingAESKey  "},
		{"消息加解密方式", "消息加解密方式  "},
		{"longer than sixteen", "longer than sixteen "},
	}
	for _, tt := range tests {
		if got := pad(tt.in, 16); got != tt.want {
			t.Errorf("pad(%q, 16) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
