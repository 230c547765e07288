package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// inFlightCallbacks is how many forwarded callbacks each signal test holds
// open while the signal arrives.
const inFlightCallbacks = 20

// slowForwardProc starts `wxoa serve` in a process of its own whose "slow"
// rule forwards to an endpoint that holds every request until release is
// called (at the latest when the test ends); extra is added to its
// environment.
func slowForwardProc(t *testing.T, arrived chan struct{}, extra map[string]string) (p *proc, release func()) {
	t.Helper()
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	held := make(chan struct{})
	endpoint := startSlowEndpoint(t, held, arrived)
	release = sync.OnceFunc(func() { close(held) })
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - keyword: slow\n    forward: {url: \""+endpoint+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["RULES_FILE"] = rules
	vars["REPLY_DEADLINE"] = "4.9s"
	for k, v := range extra {
		vars[k] = v
	}
	p = startProc(t, "signalled", vars)
	// Cleanups run last first: this one before the stop, which would wait
	// for the held forwards, and before the endpoint's Close, which waits
	// for its handlers.
	t.Cleanup(release)
	return p, release
}

// sendSlow pushes n "slow" messages from n users at once and returns once
// all n have reached the forward endpoint; each answer's status (0 for a
// transport error) arrives on the returned channel.
func sendSlow(t *testing.T, p *proc, n int, arrived <-chan struct{}) <-chan error {
	t.Helper()
	answers := make(chan error, n)
	for i := range n {
		f, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: p.base + "/wechat", Token: "e2etoken",
			OpenID: fmt.Sprintf("oSignal%02d", i), Account: "gh_sig", Client: p.client})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			res, err := f.Send(context.Background(), wechattest.Text("slow"))
			switch {
			case err != nil:
				answers <- err
			case res.Status != 200 || !strings.Contains(string(res.Body), "slow answer"):
				answers <- fmt.Errorf("HTTP %d %q; want 200 with the endpoint's answer", res.Status, res.Body)
			default:
				answers <- nil
			}
		}()
	}
	for range n {
		select {
		case <-arrived:
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited with %v before the callbacks were in flight\n%s", p.name, err, p.logs)
		case <-time.After(20 * time.Second):
			t.Fatalf("the callbacks never all reached the forward endpoint\n%s", p.logs)
		}
	}
	return answers
}

// waitLog waits until p's log has want, failing at once if p exits.
func (p *proc) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.logs.String(), want) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited (%v) before logging %q\n%s", p.name, err, want, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q\n%s", p.name, want, p.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exited waits for p to exit on its own and returns how it ended.
func (p *proc) exited(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.cmd = nil // nothing left for cleanup to stop
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still running 20s after the signal\n%s", p.name, p.logs)
		return nil
	}
}

// accessLines counts the access-log lines of POST /wechat in log.
func accessLines(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "msg=request method=POST path=/wechat status=200") {
			n++
		}
	}
	return n
}

// collect waits for n answers and reports every failed one.
func collect(t *testing.T, answers <-chan error, n int) {
	t.Helper()
	for i := range n {
		select {
		case err := <-answers:
			if err != nil {
				t.Errorf("callback in flight at the signal: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d callbacks in flight at the signal never answered", n-i, n)
		}
	}
}

// SIGHUP reaches the server, which reloads (its one account unchanged) and
// goes on serving: the forwards in flight are answered, the process keeps
// running, and every log line is written.
func TestProcSIGHUPKeepsServing(t *testing.T) {
	arrived := make(chan struct{}, inFlightCallbacks)
	p, release := slowForwardProc(t, arrived, nil)
	answers := sendSlow(t, p, inFlightCallbacks, arrived)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "accounts reloaded")
	release()
	collect(t, answers, inFlightCallbacks)
	if got := p.health(); got != "ok" {
		t.Fatalf("/healthz after SIGHUP = %q; want ok", got)
	}
	p.stop(t)
	logs := p.logs.String()
	if got := accessLines(logs); got != inFlightCallbacks {
		t.Errorf("access-log lines for the callbacks = %d; want %d\n%s", got, inFlightCallbacks, logs)
	}
	if !strings.Contains(logs, "msg=stopped") {
		t.Errorf("the log lacks its last line (stopped)\n%s", logs)
	}
}

// SIGTERM and SIGQUIT stop the server gracefully with forwards in flight:
// every one is answered, the process exits 0, and no log line is lost.
// SIGQUIT also logs every goroutine's stack first, which is what an
// operator sends it for.
func TestProcStopSignalsDrain(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		want []string // log lines besides the access lines
	}{
		{syscall.SIGTERM, []string{"msg=\"shutting down\"", "msg=stopped"}},
		{syscall.SIGQUIT, []string{"msg=\"SIGQUIT received: goroutine dump; shutting down\"", "goroutine ", "msg=\"shutting down\"", "msg=stopped"}},
	}
	for _, tt := range tests {
		t.Run(tt.sig.String(), func(t *testing.T) {
			arrived := make(chan struct{}, inFlightCallbacks)
			p, release := slowForwardProc(t, arrived, nil)
			answers := sendSlow(t, p, inFlightCallbacks, arrived)
			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			p.waitLog(t, "shutting down")
			release()
			collect(t, answers, inFlightCallbacks)
			err := p.exited(t)
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if err != nil {
				t.Errorf("exit after %v: %v; want 0\n%s", tt.sig, err, p.logs)
			}
			logs := p.logs.String()
			if got := accessLines(logs); got != inFlightCallbacks {
				t.Errorf("access-log lines for the callbacks = %d; want %d\n%s", got, inFlightCallbacks, logs)
			}
			for _, w := range tt.want {
				if !strings.Contains(logs, w) {
					t.Errorf("the log lacks %q\n%s", w, logs)
				}
			}
		})
	}
}

// panicWriter panics on its first write: standing in for a bug in serve.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("stdout exploded") }

// Whatever way serve ends before or after start-up, the log lines written
// so far reach stderr: the sink is flushed on a failed start-up (a busy
// port) and on a panic, which is logged too, and leaves no listener behind.
func TestServeExitPathsFlushLog(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name   string
		addr   string
		stdout io.Writer
		want   []string // in the log
	}{
		{"busy port", busy.Addr().String(), io.Discard, []string{"msg=\"open-file limit\""}},
		{"panic", freeAddr(t), panicWriter{}, []string{"msg=\"open-file limit\"", "WECHAT_ENCODING_AES_KEY is empty", "msg=\"panic in serve\" panic=\"stdout exploded\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			vars := e2eVars(t, fake)
			vars["LISTEN_ADDR"] = tt.addr
			logs := &lockedBuffer{}
			var err error
			panicked := func() (p any) {
				defer func() { p = recover() }()
				err = run(context.Background(), []string{"wxoa", "serve"}, mapGetenv(vars), nil, tt.stdout, logs)
				return nil
			}()
			if tt.name == "panic" {
				if panicked == nil {
					t.Fatalf("serve with a panicking stdout returned %v; want the panic to go on", err)
				}
				if c, err := net.Dial("tcp", tt.addr); err == nil {
					c.Close()
					t.Error("the panicked server still accepts connections")
				}
			} else if err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
				t.Errorf("serve on a busy port = %v; want an error naming LISTEN_ADDR", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("the log lacks %q\n%s", w, logs)
				}
			}
		})
	}
}

// Without ACCOUNTS_FILE a SIGHUP re-reads RULES_FILE: the next message is
// answered by the edited rules, and the account keeps its token (no fetch).
func TestProcSIGHUPReloadsRules(t *testing.T) {
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(answer string) {
		t.Helper()
		if err := os.WriteFile(rules, []byte("rules:\n  - keyword: hi\n    reply: {type: text, content: \""+answer+"\"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first rules")
	vars["RULES_FILE"] = rules
	p := startProc(t, "rules", vars)
	if _, err := p.token(); err != nil {
		t.Fatal(err)
	}
	user, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: p.base + "/wechat", Token: "e2etoken",
		OpenID: "oRules", Account: "gh_rules", Client: p.client})
	if err != nil {
		t.Fatal(err)
	}
	ask := func() string {
		t.Helper()
		res, err := user.Send(context.Background(), wechattest.Text("hi"))
		if err != nil || res.Status != 200 {
			t.Fatalf("send: %v, %+v", err, res)
		}
		return string(res.Body)
	}
	if got := ask(); !strings.Contains(got, "first rules") {
		t.Fatalf("reply %q; want the first rules' answer", got)
	}
	write("second rules")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "accounts reloaded")
	if got := ask(); !strings.Contains(got, "second rules") {
		t.Errorf("reply after SIGHUP %q; want the edited rules' answer", got)
	}
	if logs := p.logs.String(); !strings.Contains(logs, "rebuilt=[default]") || !strings.Contains(logs, "tokens_kept=[default]") {
		t.Errorf("the reload's line does not say the account was rebuilt with its token kept:\n%s", logs)
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("token fetches = %d; want 1 (the reload keeps the token)", n)
	}
}
