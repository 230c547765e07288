package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wxoa/wechat/wechattest"
)

// serve --cpuprofile FILE profiles the whole run: FILE, created 0600 and
// never over an existing one, holds a pprof profile (gzipped protobuf)
// once the server has stopped.
func TestServeCPUProfile(t *testing.T) {
	fake := wechattest.NewServer(t)
	path := filepath.Join(t.TempDir(), "cpu.out")
	p := startCmdArgs(t, "profiled", exec.Command(os.Args[0]), "serve --cpuprofile "+path, e2eVars(t, fake))
	for range 50 {
		if code, _, err := p.do("GET", "/healthz", "", ""); err != nil || code != 200 {
			t.Fatalf("/healthz = %d, %v", code, err)
		}
	}
	p.stop(t)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no profile after the server stopped: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("profile mode %v; want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("profile is not a gzipped pprof profile: % x", b[:min(len(b), 8)])
	}

	// An existing file is never overwritten: serve refuses to start.
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{childArgs + "=serve --cpuprofile " + path, "ENV_FILE=none", "LISTEN_ADDR=" + freeAddr(t),
		"WECHAT_TOKEN=e2etoken", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "--cpuprofile") {
		t.Errorf("serve over an existing profile: %v\n%s", err, &stderr)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("the existing profile was changed")
	}
}
