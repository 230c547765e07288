package token_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
)

// TestTwoProcessesShareOneFileFetchOnce re-executes the test binary twice
// against one token file and one fake WeChat. Both processes wait on a
// barrier file, then ask for the token at once: the file lock plus the
// re-read after locking must make it one upstream call.
func TestTwoProcessesShareOneFileFetchOnce(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "state", "access_token.json")
	goFile := filepath.Join(dir, "go")

	const procs = 2
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*bytes.Buffer, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"WXOA_TOKEN_HELPER=1",
			"WXOA_TOKEN_FILE="+tokenFile,
			"WXOA_TOKEN_GO="+goFile,
			"WXOA_WECHAT_URL="+e.srv.URL,
			"WXOA_WECHAT_APPID="+e.srv.AppID(),
			"WXOA_WECHAT_SECRET="+e.srv.AppSecret(),
		)
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	// Release both together.
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make([]string, procs)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process %d: %v\n%s", i, err, outs[i])
		}
		sc := bufio.NewScanner(outs[i])
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "TOKEN="); ok {
				got[i] = v
			}
		}
		if got[i] == "" {
			t.Fatalf("helper process %d printed no token:\n%s", i, outs[i])
		}
	}
	if got[0] != got[1] {
		t.Errorf("processes got %q and %q; want the same token", got[0], got[1])
	}
	if n := e.srv.TokenCalls(); n != 1 {
		t.Errorf("TokenCalls() = %d; want 1 for two processes", n)
	}
	e.saw(got[0])
}

// TestHelperProcess is the child of TestTwoProcessesShareOneFileFetchOnce;
// run directly it has nothing to do.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("WXOA_TOKEN_HELPER") != "1" {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(os.Getenv("WXOA_TOKEN_GO")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("barrier file never appeared")
		}
		time.Sleep(time.Millisecond)
	}
	store, closer, err := token.Open(token.Spec{Kind: token.KindFile, Path: os.Getenv("WXOA_TOKEN_FILE")}, token.Options{Name: "access_token"})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	// Classic mode mints a new token on every call, so a second fetch
	// would show as two different tokens as well as two calls.
	c, err := api.New(api.Config{
		BaseURL: os.Getenv("WXOA_WECHAT_URL"), AppID: os.Getenv("WXOA_WECHAT_APPID"),
		AppSecret: wechat.Secret(os.Getenv("WXOA_WECHAT_SECRET")), Mode: api.ModeClassic,
		HTTP: &http.Client{Timeout: 10 * time.Second}, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A slow upstream keeps the first process's fetch in flight while the
	// second arrives, so the two really contend for the lock.
	slow := token.FetcherFunc(func(ctx context.Context, force bool) (token.Token, error) {
		time.Sleep(300 * time.Millisecond)
		return c.FetchAccessToken(ctx, force)
	})
	m, err := token.NewManager(token.Config{Store: store, Fetcher: slow})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("TOKEN=" + v)
}
