package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childArgs makes the test binary act as the wxoa binary: the fleet tests
// start it as separate processes, so that "one fetch", "one reply" and
// "the new token" are checked across real processes, not goroutines.
const childArgs = "WXOA_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgs); ok {
		// The test binary is acting as wxoa: see startProc.
		os.Exit(runMain(append([]string{"wxoa"}, strings.Fields(args)...)))
	}
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// proc is `wxoa serve` in a process of its own.
type proc struct {
	name   string
	vars   map[string]string // its environment, to start it again
	base   string
	client *http.Client
	cmd    *exec.Cmd
	logs   *lockedBuffer // stderr: the log
	stdout *lockedBuffer // the banner and console values
	done   chan error
}

// startProc runs `wxoa serve` with vars as its whole environment (plus
// PATH/HOME) and waits until /healthz answers; it is stopped on cleanup.
func startProc(t *testing.T, name string, vars map[string]string) *proc {
	t.Helper()
	return startBinary(t, name, "", vars)
}

// startBinary is startProc for a binary built by buildBinary; "" runs the
// test binary itself as wxoa.
func startBinary(t *testing.T, name, bin string, vars map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	if bin != "" {
		cmd = exec.Command(bin, "serve")
	}
	return startCmd(t, name, cmd, vars)
}

// startCmd is startProc for a command that runs the test binary as wxoa,
// or runs a built wxoa, perhaps through a wrapper.
func startCmd(t *testing.T, name string, cmd *exec.Cmd, vars map[string]string) *proc {
	t.Helper()
	return startCmdArgs(t, name, cmd, "serve", vars)
}

// startCmdArgs is startCmd with the arguments the test binary runs as
// wxoa with (space-separated).
func startCmdArgs(t *testing.T, name string, cmd *exec.Cmd, args string, vars map[string]string) *proc {
	t.Helper()
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmd.Env = []string{childArgs + "=" + args, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	p := &proc{name: name, vars: vars, base: "http://" + vars["LISTEN_ADDR"], logs: &lockedBuffer{}, stdout: &lockedBuffer{}, cmd: cmd, done: make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{}, Timeout: 15 * time.Second}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _, err := p.do("GET", "/healthz", "", ""); err == nil && code == 200 {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited at start-up: %v\n%s", name, err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 30s\n%s", name, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildBinary builds wxoa with `go build`, once per test run, for tests
// that measure the process itself: the race detector's shadow memory would
// swamp a memory measurement of the test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "wxoa-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "wxoa")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	if p.cmd == nil {
		return
	}
	p.client.CloseIdleConnections()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v\n%s", p.name, err, p.logs)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 20s\n%s", p.name, p.logs)
	}
	p.cmd = nil
}

// pid is the process's id, for reading its memory.
func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) do(method, path, auth, body string) (int, string, error) {
	return p.doHeader(method, path, auth, body, nil)
}

func (p *proc) doHeader(method, path, auth, body string, h http.Header) (int, string, error) {
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// token returns what GET /api/token answers, or "" and the failure.
func (p *proc) token() (string, error) {
	code, body, err := p.do("GET", "/api/token", "Bearer "+e2eAPIKey, "")
	if err != nil {
		return "", err
	}
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.AccessToken == "" {
		return "", fmt.Errorf("%s GET /api/token = %d %s", p.name, code, body)
	}
	return r.AccessToken, nil
}

// dropInToken returns what the drop-in GET /cgi-bin/token answers.
func (p *proc) dropInToken(appID, secret string) (string, error) {
	code, body, err := p.do("GET", "/cgi-bin/token?grant_type=client_credential&appid="+appID+"&secret="+secret, "", "")
	if err != nil {
		return "", err
	}
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.AccessToken == "" {
		return "", fmt.Errorf("%s GET /cgi-bin/token = %d %s", p.name, code, body)
	}
	return r.AccessToken, nil
}

// health returns /healthz's status field ("ok", "degraded").
func (p *proc) health() string {
	_, body, err := p.do("GET", "/healthz", "", "")
	if err != nil {
		return "unreachable: " + err.Error()
	}
	var r struct {
		Status string `json:"status"`
	}
	json.Unmarshal([]byte(body), &r)
	return r.Status
}

// rss returns the process's resident set size in bytes.
func (p *proc) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid()) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// waitFor polls cond until it holds, failing after a generous deadline: it
// synchronises with other processes, it does not measure them.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}
