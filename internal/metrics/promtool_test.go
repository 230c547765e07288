package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPromtool runs `promtool check metrics` (Debian: apt-get install
// prometheus) on a scrape with every series present. It is skipped
// without promtool, except under CI=true, where promtool is required.
func TestPromtool(t *testing.T) {
	body, _ := scrape(t, driven(t))
	t.Run("promtool check metrics", func(t *testing.T) {
		bin, err := exec.LookPath("promtool")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("promtool not found: install prometheus (promtool)")
			}
			t.Skip("promtool not found; install prometheus (promtool) to run this check")
		}
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
