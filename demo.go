package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"wxoa/config"

	"wxoa/templates"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// The demo's fixed, public values: nothing here is a secret.
const (
	demoToken         = "demotoken2026"
	demoAESKey        = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // WeChat's documented sample key
	demoAPIKey        = "demo-token-api-key-0000"
	demoOpenID        = "oDemoUser0000000000000000001"
	demoAccount       = "gh_demo00000001"
	demoTeamDelay     = 1500 * time.Millisecond
	demoReplyDeadline = "1s"
	demoBound         = time.Minute // the whole tour, even if a step hangs
)

// demo runs `demo`: the offline tour. It starts a fake WeChat API, a slow
// "team endpoint" and the real server on 127.0.0.1, walks through the
// token API, the menu, a safe-mode conversation and the 5-second rule, and
// counts what each step cost in calls to WeChat.
func demo(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("demo takes no arguments, got %q", args)
	}
	ctx, cancel := context.WithTimeout(ctx, demoBound)
	defer cancel()
	start := time.Now()
	d, err := startDemo(ctx, e)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"Your services get the access_token from wxoa (GET /api/token)", d.stepToken},
		{"Push the menu (templates/menu.json) with `wxoa menu push`", d.stepMenu},
		{"A conversation, sent the way WeChat sends it (safe mode: signed and AES-encrypted)", d.stepConversation},
		{fmt.Sprintf("A rule that asks your team's endpoint, which takes %.1fs (REPLY_DEADLINE=%s)", demoTeamDelay.Seconds(), demoReplyDeadline), d.stepForward},
		{"WeChat retries that message (same MsgId)", d.stepRetry},
		{"A service reports a rejected token (POST /api/token/refresh)", d.stepRefresh},
	}
	for i, s := range steps {
		fmt.Fprintf(d.out, "\n%d. %s\n", i+1, s.title)
		if err = s.run(ctx); err != nil {
			err = fmt.Errorf("demo step %d (%s): %w", i+1, s.title, err)
			fmt.Fprintf(d.out, "   ✗ %v\n", err)
			break
		}
	}
	if serr := d.shutdown(); serr != nil {
		err = errors.Join(err, fmt.Errorf("demo: %w", serr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n✓ Tour complete in %.1fs; the server stopped cleanly.\n", time.Since(start).Seconds())
	fmt.Fprint(d.out, `
Next, with your own account:
  cp .env.example .env      fill in WECHAT_TOKEN (and the rest, see README)
  go run . serve            the callback server and the token API
  go run . sim              talk to it as WeChat would, from another terminal
`)
	return nil
}

// demoRig is the tour's world: fake WeChat, the team endpoint, the server
// and a simulated user.
type demoRig struct {
	out      io.Writer
	stderr   io.Writer
	dir      string
	vars     map[string]string
	base     string // the server, http://127.0.0.1:port
	wx       *wechattest.Server
	team     *httptest.Server
	teamHits atomic.Int64
	http     *http.Client
	user     *wechattest.Follower

	stop    context.CancelFunc
	served  chan error
	stopped chan struct{}

	firstToken string // from step 1, reported stale in step 6
}

func startDemo(ctx context.Context, e env) (*demoRig, error) {
	dir, err := os.MkdirTemp("", "wxoa-demo-")
	if err != nil {
		return nil, err
	}
	d := &demoRig{out: e.stdout, stderr: e.stderr, dir: dir, http: &http.Client{Timeout: 10 * time.Second}}
	d.wx = wechattest.New(wechattest.Options{})
	d.team = httptest.NewServer(http.HandlerFunc(d.answer))
	ok := false
	defer func() {
		if !ok {
			d.team.Close()
			d.wx.Close()
			os.RemoveAll(dir)
		}
	}()
	addr, err := demoFreeAddr()
	if err != nil {
		return nil, err
	}
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := writeDemoRules(rulesPath, d.team.URL+"/ask"); err != nil {
		return nil, err
	}
	d.base = "http://" + addr
	d.vars = map[string]string{
		"ENV_FILE":                config.NoEnvFile, // a developer's .env must not interfere
		"LISTEN_ADDR":             addr,
		"WECHAT_TOKEN":            demoToken,
		"WECHAT_APP_ID":           d.wx.AppID(),
		"WECHAT_APP_SECRET":       d.wx.AppSecret(),
		"WECHAT_ENCODING_AES_KEY": demoAESKey,
		"WECHAT_API_BASE":         d.wx.URL,
		"TOKEN_STORE":             "file:" + filepath.Join(dir, "access_token.json"),
		"TOKEN_API_KEY":           demoAPIKey,
		"REPLY_DEADLINE":          demoReplyDeadline,
		"RULES_FILE":              rulesPath,
		"SHUTDOWN_TIMEOUT":        "5s",
		"LOG_LEVEL":               "warn",
	}
	crypter, err := wechat.NewCrypter(demoAESKey, d.wx.AppID())
	if err != nil {
		return nil, err
	}
	d.user, err = wechattest.NewFollower(wechattest.FollowerConfig{URL: d.base + "/wechat", Token: demoToken,
		Crypter: crypter, OpenID: demoOpenID, Account: demoAccount, Client: d.http})
	if err != nil {
		return nil, err
	}

	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop, d.served, d.stopped = stop, make(chan error, 1), make(chan struct{})
	go func() {
		defer close(d.stopped)
		d.served <- serve(sctx, d.env(), nil)
	}()
	if err := pollHealthz(ctx, d.http, d.base, d.stopped); err != nil {
		stop()
		<-d.stopped
		return nil, errors.Join(err, <-d.served)
	}
	ok = true
	fmt.Fprintf(d.out, `wxoa demo: a tour of the server, offline. Everything runs in this process on 127.0.0.1:
  fake WeChat API   %s   (wechattest; counts every call)
  team endpoint     %s/ask   (answers after %.1fs)
  wxoa server       %s   (safe mode; token store %s)
`, d.wx.URL, d.team.URL, demoTeamDelay.Seconds(), d.base, d.vars["TOKEN_STORE"])
	return d, nil
}

// env is what the server and the commands see: the demo's variables only.
func (d *demoRig) env() env {
	return env{getenv: func(k string) string { return d.vars[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: d.stderr}
}

// shutdown stops the server (it drains late answers), then the fakes.
func (d *demoRig) shutdown() error {
	// A connection dialled but never used counts as active for up to 5 s in
	// http.Server.Shutdown; closing ours first keeps the stop prompt.
	d.http.CloseIdleConnections()
	d.stop()
	var err error
	select {
	case <-d.stopped:
		err = <-d.served
	case <-time.After(15 * time.Second):
		err = errors.New("the server did not stop within 15s")
	}
	d.team.Close()
	d.wx.Close()
	os.RemoveAll(d.dir)
	return err
}

// answer is the team endpoint: a slow service answering forwarded messages
// in the JSON reply format.
func (d *demoRig) answer(w http.ResponseWriter, r *http.Request) {
	d.teamHits.Add(1)
	var m struct{ Content string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&m); err != nil {
		http.Error(w, "want the message as JSON", http.StatusBadRequest)
		return
	}
	t := time.NewTimer(demoTeamDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	question := strings.TrimSpace(m.Content)
	if len(question) >= 3 && strings.EqualFold(question[:3], "ask") {
		question = strings.TrimSpace(question[3:])
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"type": "text",
		"content": fmt.Sprintf("Team here! About “%s”: we open at 9:00, see you then.", question)})
}

// writeDemoRules writes the shipped rules with one rule in front that
// forwards "ask ..." to the team endpoint.
func writeDemoRules(path, endpoint string) error {
	shipped, err := templates.FS.ReadFile(templates.RulesFile)
	if err != nil {
		return err
	}
	const anchor = "\nrules:\n"
	i := strings.Index(string(shipped), anchor)
	if i < 0 {
		return errors.New("the shipped rules have no top-level \"rules:\" list")
	}
	forward := fmt.Sprintf("  # Added by the demo: questions go to the team's own service.\n"+
		"  - name: ask-the-team\n    prefix: \"ask \"\n    forward: {url: %q, timeout: 10s}\n\n", endpoint)
	out := string(shipped[:i+len(anchor)]) + forward + string(shipped[i+len(anchor):])
	return os.WriteFile(path, []byte(out), 0o600)
}

// pollHealthz waits until base/healthz answers 200, the server stops, or
// 10 s pass.
func pollHealthz(ctx context.Context, client *http.Client, base string, stopped <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-stopped:
			return errors.New("the server stopped before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("the server did not become ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func demoFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
