package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"wxoa/config"
	"wxoa/internal/harness"
)

// Help and version follow Go CLI conventions: they print and exit 0, read
// no configuration and touch no file (`menu push --help` must not open a
// file named --help).
func TestHelpAndVersion(t *testing.T) {
	noEnv := func(k string) string {
		t.Errorf("help read the environment variable %s", k)
		return ""
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"wxoa", "--help"}, "usage: wxoa [command]"},
		{[]string{"wxoa", "-h"}, "commands:"},
		{[]string{"wxoa", "help"}, "fake"},
		{[]string{"wxoa", "help", "menu"}, "usage: wxoa menu push FILE | get | delete"},
		{[]string{"wxoa", "menu", "push", "--help"}, "validate FILE locally"},
		{[]string{"wxoa", "menu", "-h"}, "usage: wxoa menu"},
		{[]string{"wxoa", "serve", "--help"}, "--tunnel"},
		{[]string{"wxoa", "token", "-h"}, "same store and"},
		{[]string{"wxoa", "sim", "-h"}, "WeChat in a terminal"},
		{[]string{"wxoa", "demo", "--help"}, "offline"},
		{[]string{"wxoa", "fake", "-h"}, "--addr"},
		{[]string{"wxoa", "health", "-h"}, "/healthz"},
		{[]string{"wxoa", "version"}, "wxoa "},
		{[]string{"wxoa", "--version"}, "wxoa "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.args, noEnv, strings.NewReader(""), &out, io.Discard); err != nil {
				t.Fatalf("run(%q) = %v; want nil", tt.args, err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("run(%q) printed %q; want it to contain %q", tt.args, out.String(), tt.want)
			}
		})
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "nope"}, noEnv, nil, io.Discard, &errOut); err == nil || !strings.Contains(errOut.String(), "usage:") {
		t.Errorf("run(nope) = %v with %q on stderr; want an error and the usage", err, errOut.String())
	}
}

// `wxoa fake` serves the fake WeChat on the named address until stopped,
// and `wxoa token` against it works offline.
func TestFakeCommand(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxoa", "fake", "--addr", addr}, mapGetenv(nil), nil, &out, io.Discard)
	}()
	var tokenOut bytes.Buffer
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "WECHAT_APP_SECRET=") {
		if time.Now().After(deadline) {
			t.Fatalf("fake printed %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	vars := map[string]string{"ENV_FILE": config.NoEnvFile, "WECHAT_TOKEN": "faketest", "WECHAT_API_BASE": "http://" + addr,
		"WECHAT_APP_ID": "wxtest0000000000", "WECHAT_APP_SECRET": "testsecret", "TOKEN_STORE": "memory"}
	if err := run(context.Background(), []string{"wxoa", "token"}, mapGetenv(vars), nil, &tokenOut, io.Discard); err != nil || !strings.HasPrefix(tokenOut.String(), "FAKE_") {
		t.Errorf("token against wxoa fake = %v, %q; want a fake token", err, tokenOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("fake = %v; want nil after interrupt", err)
	}
}

// `wxoa health` exits 0 against a healthy server and fails without one.
func TestHealthCommand(t *testing.T) {
	vars := map[string]string{"ENV_FILE": config.NoEnvFile, "WECHAT_TOKEN": "healthtest", "TOKEN_STORE": "memory", "LISTEN_ADDR": freeAddr(t)}
	if err := run(context.Background(), []string{"wxoa", "health"}, mapGetenv(vars), nil, io.Discard, io.Discard); err == nil {
		t.Error("health with no server = nil; want an error")
	}
	srv, err := harness.Start(context.Background(), run, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "health"}, mapGetenv(vars), nil, &out, io.Discard); err != nil || out.String() != "ok\n" {
		t.Errorf("health = %v, %q; want nil and ok", err, out.String())
	}
	// A broken setting elsewhere must not fail the probe.
	vars["LOG_LEVEL"] = "loud"
	if err := run(context.Background(), []string{"wxoa", "health"}, mapGetenv(vars), nil, io.Discard, io.Discard); err != nil {
		t.Errorf("health with an unrelated bad setting = %v; want nil", err)
	}
}
