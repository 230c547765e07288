package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"wxoa/internal/tooltest"
)

// TestPromtool runs `promtool check metrics` (Debian: apt-get install
// prometheus) on a scrape with every series present. It is skipped
// without promtool, except under CI=true, where promtool is required.
func TestPromtool(t *testing.T) {
	body, _ := scrape(t, driven(t))
	t.Run("promtool check metrics", func(t *testing.T) {
		bin := tooltest.Require(t, tooltest.Tool{Program: "promtool", Tests: "the promtool check of /metrics", Install: "apt-get install prometheus"})
		path := filepath.Join(t.TempDir(), "metrics.prom")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out bytes.Buffer
		cmd := exec.Command(bin, "check", "metrics") // reads the exposition on stdin
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, &out
		if err := cmd.Run(); err != nil || out.Len() > 0 {
			t.Errorf("promtool check metrics = %v; want no problems:\n%s", err, out.Bytes())
		}
	})
}
