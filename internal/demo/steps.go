package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wxoa/internal/sim"
	"wxoa/templates"
	"wxoa/wechat/wechattest"
)

// wxCalls counts calls that reached the fake WeChat API.
type wxCalls struct{ Token, MenuCreate, CustomSend, Ticket, Check int64 }

func (d *demoRig) calls() wxCalls {
	return wxCalls{Token: d.wx.TokenCalls(), MenuCreate: d.wx.Calls("/cgi-bin/menu/create"),
		CustomSend: d.wx.Calls("/cgi-bin/message/custom/send"), Ticket: d.wx.Calls("/cgi-bin/ticket/getticket"),
		Check: d.wx.Calls("/cgi-bin/get_api_domain_ip")}
}

func (c wxCalls) minus(o wxCalls) wxCalls {
	return wxCalls{c.Token - o.Token, c.MenuCreate - o.MenuCreate, c.CustomSend - o.CustomSend, c.Ticket - o.Ticket, c.Check - o.Check}
}

func (c wxCalls) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		n    int64
	}{{"token", c.Token}, {"menu/create", c.MenuCreate}, {"message/custom/send", c.CustomSend}, {"ticket", c.Ticket}, {"get_api_domain_ip", c.Check}} {
		if p.n != 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", p.name, p.n))
		}
	}
	if len(parts) == 0 {
		return "WeChat API: no call"
	}
	return "WeChat API: " + strings.Join(parts, ", ")
}

// expect prints a ✓ line when the calls since before are exactly want.
func (d *demoRig) expect(before, want wxCalls, what string) error {
	got := d.calls().minus(before)
	if got != want {
		return fmt.Errorf("%s: %s; want %s", what, got, want)
	}
	fmt.Fprintf(d.out, "   ✓ %s  (%s)\n", what, got)
	return nil
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// tokenAPI calls the server's token API with the bearer key.
func (d *demoRig) tokenAPI(ctx context.Context, method, path, body string) (tokenAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, strings.NewReader(body))
	if err != nil {
		return tokenAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+demoAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return tokenAnswer{}, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	var t tokenAnswer
	if err := json.Unmarshal(data, &t); err != nil || t.AccessToken == "" {
		return tokenAnswer{}, fmt.Errorf("%s %s: no access_token in %q", method, path, data)
	}
	return t, nil
}

func (d *demoRig) stepToken(ctx context.Context) error {
	before := d.calls()
	t, err := d.tokenAPI(ctx, http.MethodGet, "/api/token?account=shop", "")
	if err != nil {
		return err
	}
	d.firstToken = t.AccessToken
	if err := d.expect(before, wxCalls{Token: 1}, fmt.Sprintf("shop: a token, valid %ds, fetched from WeChat and kept in the store", t.ExpiresIn)); err != nil {
		return err
	}
	before = d.calls()
	mini, err := d.tokenAPI(ctx, http.MethodGet, "/api/token?appid="+demoMiniAppID, "")
	if err != nil {
		return err
	}
	if mini.AccessToken == t.AccessToken {
		return errors.New("the Mini Program got the shop's token")
	}
	if err := d.expect(before, wxCalls{Token: 1}, "miniapp (chosen by appid): its own token, with its own secret, store file and quota"); err != nil {
		return err
	}
	before = d.calls()
	again, err := d.tokenAPI(ctx, http.MethodGet, "/api/token?account=shop", "")
	if err != nil {
		return err
	}
	if again.AccessToken != t.AccessToken {
		return errors.New("the second GET /api/token returned another token")
	}
	return d.expect(before, wxCalls{}, "shop asked again: the same token, from memory")
}

func (d *demoRig) stepMenu(ctx context.Context) error {
	data, src, err := demoMenu()
	if err != nil {
		return err
	}
	path := filepath.Join(d.dir, "menu.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	before := d.calls()
	var out bytes.Buffer
	if err := d.cli(ctx, []string{"wxoa", "menu", "--account", "shop", "push", path}, d.getenv, strings.NewReader(""), &out, d.stderr); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   $ wxoa menu --account shop push %s\n     %s\n", src, sim.Indent(strings.TrimRight(out.String(), "\n"), "     "))
	return d.expect(before, wxCalls{MenuCreate: 1}, "one menu/create; the command reused the shop's token (same store)")
}

// demoMenu returns the example menu shipped in the binary.
func demoMenu() ([]byte, string, error) {
	const name = "menu.json"
	data, err := templates.FS.ReadFile(name)
	return data, "templates/" + name, err
}

// demoConversation is step 3, in the sim script format.
const demoConversation = `
> /subscribe
< text: Welcome!
> help
< I understand:
> echo Hello from the demo
< text: Hello from the demo
> /click HELP
< I understand:
`

func (d *demoRig) stepConversation(ctx context.Context) error {
	steps, err := sim.ParseScript("demo", demoConversation)
	if err != nil {
		return err
	}
	before := d.calls()
	if err := sim.RunScript(ctx, d.user, "conversation", steps, d.out, "   "); err != nil {
		return err
	}
	return d.expect(before, wxCalls{}, "passive replies travel in the HTTP answer: they cost no API call")
}

func (d *demoRig) stepForward(ctx context.Context) error {
	before := d.calls()
	sent := len(d.wx.DefaultApp().Messages())
	const question = "ask When do you open?"
	fmt.Fprintf(d.out, "   > %s\n", question)
	res, err := d.user.Send(ctx, wechattest.Text(question))
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s after %.1fs\n", sim.Show(res.Reply), res.Elapsed.Seconds())
	if res.Reply != nil {
		return fmt.Errorf("want no passive reply (the endpoint is slower than REPLY_DEADLINE), got %s", sim.ReplyText(res.Reply))
	}
	if res.Elapsed >= sim.ReplyWindow {
		return fmt.Errorf("the callback took %.1fs; WeChat gives up after 5s", res.Elapsed.Seconds())
	}
	fmt.Fprintf(d.out, "     WeChat got its answer in time; the team's answer will follow as a customer-service message\n")
	start := time.Now()
	msg, err := waitMessage(ctx, d.wx.DefaultApp(), sent)
	if err != nil {
		return err
	}
	var m struct {
		ToUser string `json:"touser"`
		Text   struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := json.Unmarshal(msg, &m); err != nil || m.ToUser != demoOpenID || m.Text.Content == "" {
		return fmt.Errorf("unexpected customer-service message %s", msg)
	}
	fmt.Fprintf(d.out, "   ← text (customer-service message, %.1fs later): %s\n", time.Since(start).Seconds(), m.Text.Content)
	return d.expect(before, wxCalls{CustomSend: 1}, "the late answer was delivered once, with the server's token")
}

func (d *demoRig) stepRetry(ctx context.Context) error {
	before, hits := d.calls(), d.teamHits.Load()
	fmt.Fprintf(d.out, "   > /retry   (same MsgId: WeChat retries when it thinks an answer was lost)\n")
	res, err := d.user.Retry(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s\n", sim.Show(res.Reply))
	if res.Reply != nil {
		return fmt.Errorf("want the retry answered like the first try (success), got %s", sim.ReplyText(res.Reply))
	}
	// Give a second forward, if there were one, time to finish and deliver.
	wait := demoTeamDelay + 500*time.Millisecond
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := d.teamHits.Load() - hits; n != 0 {
		return fmt.Errorf("the team endpoint was asked %d more time(s); want 0", n)
	}
	return d.expect(before, wxCalls{}, fmt.Sprintf("after %.1fs: the team was not asked again, nothing was sent twice", wait.Seconds()))
}

// stepMiniProgram: a Mini Program's JSON push is acknowledged at once and
// its reply goes out as a customer-service message with its own token.
func (d *demoRig) stepMiniProgram(ctx context.Context) error {
	before := d.calls()
	sent := len(d.mini.Messages())
	const text = "Hello from the Mini Program"
	fmt.Fprintf(d.out, "   > %s   (POST /wechat/miniapp: JSON, AES-encrypted)\n", text)
	res, err := d.miniUser.Send(ctx, wechattest.Text(text))
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s (at once)\n", sim.Show(res.Reply))
	if res.Reply != nil {
		return fmt.Errorf("want success (a Mini Program takes no passive reply), got %s", sim.ReplyText(res.Reply))
	}
	msg, err := waitMessage(ctx, d.mini, sent)
	if err != nil {
		return err
	}
	var m struct {
		ToUser string `json:"touser"`
		Text   struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := json.Unmarshal(msg, &m); err != nil || m.ToUser != demoMiniUser || m.Text.Content != text {
		return fmt.Errorf("unexpected customer-service message %s", msg)
	}
	fmt.Fprintf(d.out, "   ← text (customer-service message, with miniapp's token): %s\n", m.Text.Content)
	return d.expect(before, wxCalls{CustomSend: 1}, "the rule's reply went out once, as the Mini Program, not as the shop")
}

// waitMessage polls app until a customer-service message beyond the first n
// arrives, for 10 s at most.
func waitMessage(ctx context.Context, app *wechattest.App, n int) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if msgs := app.Messages(); len(msgs) > n {
			return msgs[n], nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("no customer-service message arrived within 10s (see the server's log above)")
		case <-tick.C:
		}
	}
}

func (d *demoRig) stepRefresh(ctx context.Context) error {
	stale, err := json.Marshal(map[string]string{"account": "shop", "stale_token": d.firstToken})
	if err != nil {
		return err
	}
	d.wx.FetchElsewhere()
	fmt.Fprintf(d.out, "   (another system fetches a token with our appid: WeChat stops accepting ours)\n")
	before := d.calls()
	fresh, err := d.tokenAPI(ctx, http.MethodPost, "/api/token/refresh", string(stale))
	if err != nil {
		return err
	}
	if fresh.AccessToken == d.firstToken {
		return errors.New("refreshing the rejected token returned the same token")
	}
	if err := d.expect(before, wxCalls{Token: 1, Check: 1}, "WeChat confirms it rejects the reported token: one new token fetched"); err != nil {
		return err
	}
	before = d.calls()
	again, err := d.tokenAPI(ctx, http.MethodPost, "/api/token/refresh", string(stale))
	if err != nil {
		return err
	}
	if again.AccessToken != fresh.AccessToken {
		return errors.New("reporting the outdated token again did not return the new token")
	}
	if err := d.expect(before, wxCalls{}, "a late report of that outdated token gets the new one, no fetch"); err != nil {
		return err
	}
	current, err := json.Marshal(map[string]string{"account": "shop", "stale_token": fresh.AccessToken})
	if err != nil {
		return err
	}
	before = d.calls()
	kept, err := d.tokenAPI(ctx, http.MethodPost, "/api/token/refresh", string(current))
	if err != nil {
		return err
	}
	if kept.AccessToken != fresh.AccessToken {
		return errors.New("a report of a token WeChat still accepts replaced it")
	}
	return d.expect(before, wxCalls{Check: 1}, "a report of a token WeChat still accepts: kept, nothing fetched (a misbehaving client cannot spend the daily quota)")
}
