//go:build linux

// Package deploy has no code, only tests of the deployment files beside
// them: the Dockerfile's build command, run as written, must give a static
// binary that starts and stops cleanly, and the systemd unit must verify.
// Everything runs on 127.0.0.1.
package deploy

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxoa/internal/harness"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
	"wxoa/internal/tooltest"
)

// Paths as seen from this package's directory, where go test runs it.
const (
	dockerfilePath = "Dockerfile"
	unitPath       = "wxoa.service"
	repoRoot       = ".."
)

// TestBinary builds the server with the Dockerfile's own command, then
// checks the result the way the image and the unit depend on it.
func TestBinary(t *testing.T) {
	bin := buildAsDockerfile(t)
	t.Run("static", func(t *testing.T) { checkStatic(t, bin) })
	t.Run("starts and stops", func(t *testing.T) { checkStartStop(t, bin) })
	t.Run("systemd-analyze verify", func(t *testing.T) { verifyUnit(t, bin) })
}

// buildCommand returns the Dockerfile's `go build` RUN line with its -o
// path replaced by out: the command the image is built with, not a copy of
// it that could drift.
func buildCommand(tb testing.TB, out string) string {
	tb.Helper()
	var runs []instruction
	for _, s := range mustParseDockerfile(tb) {
		for _, in := range s.all("RUN") {
			if strings.Contains(in.Args, "go build") {
				runs = append(runs, in)
			}
		}
	}
	if len(runs) != 1 {
		tb.Fatalf("%s: %d RUN lines with `go build`; want exactly 1", dockerfilePath, len(runs))
	}
	cmd := withoutFlags(runs[0].Args) // RUN --mount=type=cache,...
	if strings.HasPrefix(cmd, "[") {
		tb.Fatalf("%s:%d: the build RUN is in exec form; want a shell command this test can run", dockerfilePath, runs[0].Line)
	}
	locs := regexp.MustCompile(`(?:^|\s)-o\s+(\S+)`).FindAllStringSubmatchIndex(cmd, -1)
	if len(locs) != 1 {
		tb.Fatalf("%s:%d: %q has %d -o options; want 1", dockerfilePath, runs[0].Line, cmd, len(locs))
	}
	return cmd[:locs[0][2]] + shellQuote(out) + cmd[locs[0][3]:]
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// buildAsDockerfile runs the build command in the repository root, as the
// builder stage does after COPY . ., and returns the binary's path.
func buildAsDockerfile(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wxoa")
	cmd := buildCommand(t, bin)
	// A cold -trimpath build shares no cache with ordinary builds and took
	// minutes on a loaded 2-core machine: bound it by go test's own
	// -timeout, less a margin so that this test reports the failure.
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir = repoRoot
	// cgo is on by default where a C compiler exists, as in the golang
	// image: the command itself must turn it off.
	c.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v\n%s", cmd, err, out)
	}
	t.Logf("built with the Dockerfile's command: %s", cmd)
	return bin
}

// checkStatic: a distroless/static or scratch image has no dynamic loader
// and no libc, so the binary must need neither.
func checkStatic(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("program header PT_INTERP present: the binary asks for a dynamic loader")
		}
	}
	libs, err := f.ImportedLibraries() // DT_NEEDED entries
	if err != nil {
		t.Fatalf("ImportedLibraries: %v", err)
	}
	if len(libs) > 0 {
		t.Errorf("DT_NEEDED = %q; want no shared libraries", libs)
	}
	// -s and -w, seen in the result: Go does not record -ldflags in the
	// build info when -trimpath is on.
	if f.Section(".symtab") != nil {
		t.Errorf("symbol table present: -ldflags=-s did not apply")
	}
	if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		t.Errorf("DWARF present: -ldflags=-w did not apply")
	}

	// What the Go toolchain recorded confirms the command's own settings
	// took effect, rather than the environment's.
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if got := settings[k]; got != want {
			t.Errorf("build setting %s = %q; want %q", k, got, want)
		}
	}
}

// checkStartStop runs `wxoa serve` with the one required variable, waits for
// /healthz to answer 200, then stops it with SIGTERM as docker stop and
// systemctl stop do, and requires a clean exit.
func checkStartStop(t *testing.T, bin string) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	serverLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir // no .env, no data/ of a developer's
	cmd.Env = []string{
		"WECHAT_TOKEN=deploytest",
		"LISTEN_ADDR=" + addr,
		"TOKEN_STORE=memory",
		// No env file at all: a .env anywhere stays out of the way.
		"ENV_FILE=none",
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{Proxy: nil}, // 127.0.0.1 only, whatever HTTP_PROXY says
	}
	url := "http://" + addr + "/healthz"
	deadline := time.Now().Add(30 * time.Second)
	for status := 0; status != http.StatusOK; {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("server exited before %s answered 200: %v\n%s", url, err, serverLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: last status %d after 30s\n%s", url, status, serverLog())
		}
		if resp, err := client.Get(url); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		if status != http.StatusOK {
			time.Sleep(100 * time.Millisecond)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("after SIGTERM: %v; want exit status 0\n%s", err, serverLog())
		}
	case <-time.After(20 * time.Second): // past the default SHUTDOWN_TIMEOUT, 15s
		t.Fatalf("still running 20s after SIGTERM\n%s", serverLog())
	}
	if !strings.Contains(serverLog(), "msg=stopped") {
		t.Errorf("no \"stopped\" line after SIGTERM: the drain did not finish\n%s", serverLog())
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := harness.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// verifyUnit runs systemd-analyze verify on a copy of the unit whose
// ExecStart names the binary just built (verify requires the executable to
// exist, and /usr/local/bin/wxoa does not here).
func verifyUnit(t *testing.T, bin string) {
	analyze := tooltest.Require(t, tooltest.Tool{Program: "systemd-analyze", Tests: "systemd-analyze verify of the unit (TestUnitHardening still checks its directives)", Install: "apt-get install systemd"})
	src, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	replaced := 0
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			_, args, _ := strings.Cut(v, " ")
			lines[i] = "ExecStart=" + bin + " " + args
			replaced++
		}
	}
	if replaced != 1 {
		t.Fatalf("%s: %d ExecStart= lines; want 1", unitPath, replaced)
	}
	// The copy keeps the unit's name: verify derives the unit name from it.
	unit := filepath.Join(t.TempDir(), "wxoa.service")
	if err := os.WriteFile(unit, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Unknown keys and bad values are only warnings to verify (exit 0), so
	// any line about our unit fails; lines about the host's units are not
	// ours to judge.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "wxoa.service") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}
