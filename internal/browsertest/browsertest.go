// Package browsertest starts Debian's Chromium headless for tests that drive
// a page the way an operator would (chromedp), and keeps screenshots as test
// artifacts. Without Chromium a test is skipped, and the developer told once
// per run how to install it (see tooltest), except in CI (CI=true), where it
// fails: .ci/run installs it.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wxoa/internal/tooltest"
)

// ChromiumPath is Debian's Chromium.
const ChromiumPath = "/usr/bin/chromium"

// Start returns a browser context, ended on cleanup or after timeout. The
// flags keep Chromium off the network it would otherwise try to reach
// (this machine has none) and out of any profile but a fresh one.
func Start(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	tooltest.Require(t, tooltest.Tool{Program: ChromiumPath, Tests: "the browser tests of the admin page", Install: "apt-get install chromium"})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(ChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	t.Cleanup(cancelAlloc)
	b, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		chromedp.Cancel(b)
		cancelBrowser()
	})
	return b
}

// Screenshot saves a full-page PNG as name in $WXOA_ARTIFACTS (or the test's
// temporary directory) and logs where.
func Screenshot(t *testing.T, b context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("WXOA_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}
