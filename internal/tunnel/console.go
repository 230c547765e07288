package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
)

// Console holds what WeChat's console asks for besides the URL.
type Console struct {
	Account      string // the account's name; shown when there are several
	CallbackPath string // WECHAT_CALLBACK_PATH, e.g. "/wechat"
	Token        string // WECHAT_TOKEN, in clear: the developer types it in
	AESKey       string // WECHAT_ENCODING_AES_KEY; "" means plaintext mode
}

// sandboxURL is the test account (测试号) page.
const sandboxURL = "https://mp.weixin.qq.com/debug/cgi-bin/sandbox?t=sandbox/login"

// ConsoleValues renders the block to paste into WeChat's console for the
// server reached at publicURL: URL, Token, EncodingAESKey and message mode,
// and where the console asks for them.
//
// The block holds WECHAT_TOKEN and the EncodingAESKey in clear, on purpose:
// the developer must type them into the console. Print it to stdout, on the
// developer's terminal, at start-up with --tunnel (or in Help) only; never
// log it through slog, whose output is collected and shipped.
func ConsoleValues(publicURL string, c Console) string {
	var b strings.Builder
	b.WriteString("WeChat console, server settings (real account: 设置与开发 → 基本配置 → 服务器配置;\n")
	fmt.Fprintf(&b, "test account: 接口配置信息 on %s):\n", sandboxURL)
	row := func(k, v string) { fmt.Fprintf(&b, "  %s%s\n", pad(k, 16), v) }
	row("URL", strings.TrimSuffix(publicURL, "/")+c.CallbackPath)
	token := c.Token
	if token == "" {
		token = "(not set: set WECHAT_TOKEN)"
	}
	row("Token", token)
	if c.AESKey == "" {
		row("EncodingAESKey", "(none: plaintext mode)")
		row("消息加解密方式", "明文模式 (plaintext); for safe mode set WECHAT_ENCODING_AES_KEY")
		return b.String()
	}
	row("EncodingAESKey", c.AESKey)
	row("消息加解密方式", "安全模式 (safe), recommended; 兼容模式 (compatible) also works")
	b.WriteString("  A test account has only URL and Token and sends plaintext, which this\n")
	b.WriteString("  server refuses while WECHAT_ENCODING_AES_KEY is set: unset it for one.\n")
	return b.String()
}

// Help says what to do without an ngrok authtoken: get one, or run a tunnel
// of one's own (ngrok CLI, frp, cpolar) to 127.0.0.1:port, then paste the
// console values. It holds the token in clear, like ConsoleValues: stdout
// only.
func Help(port string, c Console) string {
	var b strings.Builder
	b.WriteString("No tunnel: NGROK_AUTHTOKEN is not set. Either\n")
	b.WriteString("  - get an authtoken at https://dashboard.ngrok.com/get-started/your-authtoken (free),\n")
	b.WriteString("    set NGROK_AUTHTOKEN in .env or the environment and run wxoa serve --tunnel again; or\n")
	fmt.Fprintf(&b, "  - run a tunnel of your own to 127.0.0.1:%s, one of:\n", port)
	row := func(k, v string) { fmt.Fprintf(&b, "      %-8s%s\n", k, v) }
	row("ngrok", fmt.Sprintf("ngrok http %s   (the CLI, after ngrok config add-authtoken)", port))
	row("frp", fmt.Sprintf(`frpc, proxy type = "http", localPort = %s, customDomains = ["<your domain>"]`, port))
	row("cpolar", fmt.Sprintf("cpolar http %s", port))
	b.WriteString("Then, with the https URL it prints:\n")
	b.WriteString(ConsoleValues("<your public URL>", c))
	return b.String()
}

// pad fills s with spaces to width terminal columns, counting CJK
// characters as two, so the Chinese label lines up with the others.
func pad(s string, width int) string {
	w := 0
	for _, r := range s {
		w++
		if r >= 0x2E80 { // CJK and beyond: wide
			w++
		}
	}
	return s + strings.Repeat(" ", max(width-w, 1))
}

// ForServer opens the tunnel for a server listening on local and tells the
// developer, on out (the terminal, never the log: the values include the
// callback token), what to paste into WeChat's console. Without an
// authtoken it prints Help instead and returns a nil listener: the server
// goes on locally. Only the public URL is logged.
func (o Opener) ForServer(ctx context.Context, authtoken string, local net.Addr, cs []Console, log *slog.Logger, out io.Writer) (net.Listener, string, error) {
	ln, url, err := o.Open(ctx, authtoken, log)
	switch {
	case errors.Is(err, ErrNoAuthtoken):
		_, port, _ := net.SplitHostPort(local.String())
		for _, c := range cs {
			fmt.Fprint(out, heading(c, len(cs))+Help(port, c))
		}
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	log.Info("tunnel open", "url", url)
	for _, c := range cs {
		fmt.Fprint(out, heading(c, len(cs))+ConsoleValues(url, c))
	}
	return ln, url, nil
}

// heading names the account a block is for, when there are several.
func heading(c Console, n int) string {
	if n < 2 {
		return ""
	}
	return "\n== account " + c.Account + " ==\n"
}

// ForServer is Opener{}.ForServer: an ngrok tunnel, with the console values
// of each account with a callback (cs).
func ForServer(ctx context.Context, authtoken string, local net.Addr, cs []Console, log *slog.Logger, out io.Writer) (net.Listener, string, error) {
	return Opener{}.ForServer(ctx, authtoken, local, cs, log, out)
}
