package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// A mistyped command is answered with the one probably meant, not the
// whole usage; a word far from every command still gets the usage.
func TestUnknownCommandSuggests(t *testing.T) {
	tests := []struct {
		arg   string
		want  string // in the error; "" for none
		usage bool   // the usage on stderr
	}{
		{"serv", `unknown command "serv"; did you mean "serve"?`, false},
		{"sreve", `did you mean "serve"?`, false},
		{"tokne", `did you mean "token"?`, false},
		{"mneu", `did you mean "menu"?`, false},
		{"ver", `did you mean "version"?`, false},
		{"helth", `did you mean "health"?`, false},
		{"hepl", `did you mean "help"?`, false},
		{"s", `unknown command "s"`, true},
		{"deploy", `unknown command "deploy"`, true},
		{"nope", `unknown command "nope"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var stderr bytes.Buffer
			noEnv := func(k string) string {
				t.Errorf("an unknown command read the environment variable %s", k)
				return ""
			}
			err := run(context.Background(), []string{"wxoa", tt.arg}, noEnv, strings.NewReader(""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v; want an error with %q", tt.arg, err, tt.want)
			}
			if strings.Contains(err.Error(), "did you mean") == tt.usage {
				t.Errorf("run(%q) = %v; want a suggestion: %v", tt.arg, err, !tt.usage)
			}
			if got := strings.Contains(stderr.String(), "usage:"); got != tt.usage {
				t.Errorf("run(%q) printed the usage: %v; want %v", tt.arg, got, tt.usage)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"serve", "serve", 0}, {"serv", "serve", 1}, {"sreve", "serve", 1}, {"", "demo", 4},
		{"menu", "mneu", 1}, {"token", "fake", 3}, {"令牌", "令", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
