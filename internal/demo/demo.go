// Package demo is `wxoa demo`, the offline tour: a fake WeChat, a slow team
// endpoint and the real server on 127.0.0.1, walked through the token API,
// the menu, a safe-mode conversation, the 5-second rule and the quota guard,
// counting what each step cost in calls to WeChat. It reaches the server
// and the other commands through main's command line (harness.CLI), never
// by importing main.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"wxoa/config"
	"wxoa/internal/harness"
	"wxoa/templates"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// The demo's fixed, public values: nothing here is a secret.
const (
	demoToken   = "demotoken2026"
	demoAESKey  = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // WeChat's documented sample key
	demoAPIKey  = "demo-token-api-key-0000"
	demoOpenID  = "oDemoUser0000000000000000001"
	demoAccount = "gh_demo00000001"
	// The Mini Program beside the Official Account: its own appid, secret,
	// callback token and data format.
	demoMiniAppID     = "wxdemomini000001"
	demoMiniSecret    = "demominisecret"
	demoMiniToken     = "demominitoken"
	demoMiniUser      = "oDemoMiniUser00000000000001"
	demoTeamDelay     = 1500 * time.Millisecond
	demoReplyDeadline = "1s"
	demoBound         = time.Minute // the whole tour, even if a step hangs
)

// Help is what `wxoa demo -h` prints.
const Help = `The whole product offline, in this process: a fake WeChat API, a slow team
endpoint and the real server on 127.0.0.1 serving two accounts side by side
(an Official Account, "shop", and a Mini Program, "miniapp", from an accounts
file), walked through the token API, the menu, a safe-mode conversation, the
5-second rule, a Mini Program's JSON push and the quota guard. It reads no
configuration.
`

// Run runs `wxoa demo`: the offline tour. It starts a fake WeChat API, a
// slow "team endpoint" and the real server (through cli, main's command
// line) on 127.0.0.1, walks through the token API, the menu, a safe-mode
// conversation and the 5-second rule, and counts what each step cost in
// calls to WeChat.
func Run(ctx context.Context, args []string, cli harness.CLI, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("demo takes no arguments, got %q", args)
	}
	ctx, cancel := context.WithTimeout(ctx, demoBound)
	defer cancel()
	start := time.Now()
	d, err := startDemo(ctx, cli, stdout, stderr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"Your services get each account's access_token from wxoa (GET /api/token?account=...)", d.stepToken},
		{"Push the shop's menu (templates/menu.json) with `wxoa menu --account shop push`", d.stepMenu},
		{"A conversation with the shop, sent the way WeChat sends it (safe mode: signed and AES-encrypted)", d.stepConversation},
		{fmt.Sprintf("A rule that asks your team's endpoint, which takes %.1fs (REPLY_DEADLINE=%s)", demoTeamDelay.Seconds(), demoReplyDeadline), d.stepForward},
		{"WeChat retries that message (same MsgId)", d.stepRetry},
		{"The Mini Program gets a message (JSON): it takes no passive reply", d.stepMiniProgram},
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
Next, without an account: README's "Try it without an account" (go run . fake).
With your own account:
  cp .env.example .env      fill in WECHAT_TOKEN (and the rest, see README)
  go run . serve            the callback server and the token API
  go run . sim              talk to it as WeChat would, from another terminal
Several accounts: templates/accounts.example.yaml and README's "Several accounts".
`)
	return nil
}

// demoRig is the tour's world: fake WeChat, the team endpoint, the server
// and a simulated user.
type demoRig struct {
	out      io.Writer
	stderr   io.Writer
	cli      harness.CLI
	dir      string
	vars     map[string]string
	base     string // the server, http://127.0.0.1:port
	wx       *wechattest.Server
	mini     *wechattest.App // the Mini Program's app at the fake
	team     *httptest.Server
	teamHits atomic.Int64
	http     *http.Client
	user     *wechattest.Follower // writes to the shop
	miniUser *wechattest.Follower // writes to the Mini Program
	srv      *harness.Server

	firstToken string // from step 1, reported stale in step 6
}

func startDemo(ctx context.Context, cli harness.CLI, stdout, stderr io.Writer) (*demoRig, error) {
	dir, err := os.MkdirTemp("", "wxoa-demo-")
	if err != nil {
		return nil, err
	}
	d := &demoRig{out: stdout, stderr: stderr, cli: cli, dir: dir}
	d.wx = wechattest.New(wechattest.Options{})
	d.mini = d.wx.AddApp(demoMiniAppID, demoMiniSecret)
	d.team = httptest.NewServer(http.HandlerFunc(d.answer))
	ok := false
	defer func() {
		if !ok {
			d.team.Close()
			d.wx.Close()
			os.RemoveAll(dir)
		}
	}()
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := writeDemoRules(rulesPath, d.team.URL+"/ask"); err != nil {
		return nil, err
	}
	accountsPath := filepath.Join(dir, "accounts.yaml")
	accounts := fmt.Sprintf(`accounts:
  - name: shop
    app_id: %s
    app_secret: ${SHOP_SECRET}
    token: %s
    encoding_aes_key: %s
    callback_path: /wechat
    rules_file: %s
  - name: miniapp
    kind: mini_program
    app_id: %s
    app_secret: ${MINIAPP_SECRET}
    token: %s
    encoding_aes_key: %s
    data_format: json
`, d.wx.AppID(), demoToken, demoAESKey, rulesPath, demoMiniAppID, demoMiniToken, demoAESKey)
	if err := os.WriteFile(accountsPath, []byte(accounts), 0o600); err != nil {
		return nil, err
	}
	d.base = "http://" + addr
	d.vars = map[string]string{
		"ENV_FILE":         config.NoEnvFile, // a developer's .env must not interfere
		"LISTEN_ADDR":      addr,
		"ACCOUNTS_FILE":    accountsPath,
		"SHOP_SECRET":      d.wx.AppSecret(),
		"MINIAPP_SECRET":   demoMiniSecret,
		"WECHAT_API_BASE":  d.wx.URL,
		"TOKEN_STORE":      "file:" + filepath.Join(dir, "access_token.json"),
		"TOKEN_API_KEY":    demoAPIKey,
		"REPLY_DEADLINE":   demoReplyDeadline,
		"SHUTDOWN_TIMEOUT": "5s",
		"LOG_LEVEL":        "warn",
	}
	crypter, err := wechat.NewCrypter(demoAESKey, d.wx.AppID())
	if err != nil {
		return nil, err
	}
	if d.srv, err = harness.Start(ctx, cli, d.vars, stderr); err != nil {
		return nil, err
	}
	d.http = d.srv.Client
	d.user, err = wechattest.NewFollower(wechattest.FollowerConfig{URL: d.base + "/wechat", Token: demoToken,
		Crypter: crypter, OpenID: demoOpenID, Account: demoAccount, Client: d.http})
	var miniCrypter *wechat.Crypter
	if err == nil {
		miniCrypter, err = wechat.NewCrypter(demoAESKey, demoMiniAppID)
	}
	if err == nil {
		d.miniUser, err = wechattest.NewFollower(wechattest.FollowerConfig{URL: d.base + "/wechat/miniapp", Token: demoMiniToken,
			Crypter: miniCrypter, JSON: true, OpenID: demoMiniUser, Account: "gh_demomini0001", Client: d.http})
	}
	if err != nil {
		return nil, errors.Join(err, d.srv.Stop())
	}
	ok = true
	fmt.Fprintf(d.out, `wxoa demo: a tour of the server, offline. Everything runs in this process on 127.0.0.1:
  fake WeChat API   %s   (wechattest; counts every call)
  team endpoint     %s/ask   (answers after %.1fs)
  wxoa server       %s   (token store %s), two accounts from %s:
    shop      Official Account, safe mode, callback /wechat
    miniapp   Mini Program, JSON pushes in safe mode, callback /wechat/miniapp
`, d.wx.URL, d.team.URL, demoTeamDelay.Seconds(), d.base, d.vars["TOKEN_STORE"], filepath.Base(accountsPath))
	return d, nil
}

// getenv is what the server and the commands see: the demo's variables only.
func (d *demoRig) getenv(k string) string { return d.vars[k] }

// shutdown stops the server (it drains late answers), then the fakes.
func (d *demoRig) shutdown() error {
	err := d.srv.Stop()
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
