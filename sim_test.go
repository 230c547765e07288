package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"wxoa/config"
	"wxoa/internal/harness"
	"wxoa/internal/sim"
)

const (
	simTestToken  = "simtoken2026"
	simTestAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // WeChat's documented sample key
	simTestAppID  = "wxsim00000000000a"
)

// simTestVars is a configuration for an offline server on a free port;
// aesKey "" means plaintext mode.
func simTestVars(tb testing.TB, aesKey string) map[string]string {
	return map[string]string{
		"ENV_FILE":                config.NoEnvFile,
		"LISTEN_ADDR":             freeAddr(tb),
		"WECHAT_TOKEN":            simTestToken,
		"WECHAT_APP_ID":           simTestAppID,
		"WECHAT_ENCODING_AES_KEY": aesKey,
		"TOKEN_STORE":             "memory",
		"LOG_LEVEL":               "warn",
	}
}

// startSimServer runs serve in-process (the harness) until the test ends.
func startSimServer(tb testing.TB, vars map[string]string) {
	tb.Helper()
	logs := &lockedBuffer{}
	srv, err := harness.Start(context.Background(), run, vars, logs)
	if err != nil {
		tb.Fatalf("%v\nserver logs:\n%s", err, logs)
	}
	tb.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			tb.Errorf("serve() = %v; want nil at shutdown", err)
		}
		if tb.Failed() {
			tb.Logf("server logs:\n%s", logs.String())
		}
	})
}

func TestSimScript(t *testing.T) {
	for _, tt := range []struct{ name, aesKey string }{
		{"plaintext", ""},
		{"safe mode", simTestAESKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := simTestVars(t, tt.aesKey)
			startSimServer(t, vars)
			var out bytes.Buffer
			args := []string{"wxoa", "sim", "--script", filepath.Join("testdata", "sim", "basic.txt")}
			err := run(context.Background(), args, mapGetenv(vars), strings.NewReader(""), &out, io.Discard)
			if err != nil {
				t.Fatalf("sim --script basic.txt = %v; want nil\n%s", err, out.String())
			}
			mode := map[bool]string{false: "plaintext mode", true: "safe mode"}[tt.aesKey != ""]
			for _, want := range []string{mode, "← text: Welcome!", "← news: 3 articles:", "steps passed"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("sim output does not contain %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestSimScriptMismatch(t *testing.T) {
	vars := simTestVars(t, simTestAESKey)
	startSimServer(t, vars)
	tests := []struct {
		name, script string
		wantStep     int
		wantLine     int
	}{
		{"wrong text", "> hello\n< text: hello\n# the echo is not a greeting\n> echo hi\n< text: bonjour\n", 2, 5},
		{"forbidden text", "> help\n<! I understand\n", 1, 2},
		{"reply where none is expected", "> hi\n< success\n", 1, 2},
		{"no reply where one is expected", "> /unsubscribe\n< text:\n", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "conv.txt")
			if err := os.WriteFile(path, []byte(tt.script), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"wxoa", "sim", "--script", path}, mapGetenv(vars), strings.NewReader(""), &out, io.Discard)
			var se *sim.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("sim --script = %v; want a *scriptError\n%s", err, out.String())
			}
			if se.Step != tt.wantStep || se.Line != tt.wantLine || se.File != path {
				t.Errorf("sim --script failed at %s:%d step %d; want %s:%d step %d", se.File, se.Line, se.Step, path, tt.wantLine, tt.wantStep)
			}
			if want := "step " + strconv.Itoa(tt.wantStep); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		})
	}
}

func TestSimInteractive(t *testing.T) {
	vars := simTestVars(t, "")
	startSimServer(t, vars)
	in := strings.NewReader("hi there\n/retry\n/nonsense\n/help\n/quit\nnever sent\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxoa", "sim"}, mapGetenv(vars), in, &out, io.Discard); err != nil {
		t.Fatalf("sim = %v; want nil", err)
	}
	got := out.String()
	for _, want := range []string{"plaintext mode", "← text: hi there", "✗ unknown command /nonsense", "/subscribe [SCENE]"} {
		if !strings.Contains(got, want) {
			t.Errorf("sim output does not contain %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "← text: hi there"); n != 2 {
		t.Errorf("sim printed %d replies to hi there; want 2 (message and retry)", n)
	}
	if strings.Contains(got, "never sent") {
		t.Errorf("sim went on after /quit:\n%s", got)
	}
}

func TestSimHTTPError(t *testing.T) {
	vars := simTestVars(t, "")
	startSimServer(t, vars)
	wrong := map[string]string{}
	for k, v := range vars {
		wrong[k] = v
	}
	wrong["WECHAT_TOKEN"] = "notthetoken"
	var out bytes.Buffer
	err := run(context.Background(), []string{"wxoa", "sim"}, mapGetenv(wrong), strings.NewReader("hi\n"), &out, io.Discard)
	if err != nil {
		t.Fatalf("sim = %v; want nil (an interactive session goes on)", err)
	}
	if want := "✗ the server answered HTTP 403 Forbidden"; !strings.Contains(out.String(), want) {
		t.Errorf("sim output does not contain %q:\n%s", want, out.String())
	}
}
