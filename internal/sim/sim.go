// Package sim is WeChat in a terminal (`wxoa sim`): it signs (and in safe
// mode encrypts) what the developer types, the way WeChat's servers push
// it, posts it to the callback and prints the decoded reply; with --script
// it replays a conversation and stops at the first reply that does not
// match. The wire format is wechattest.Follower's; this package owns the
// prompt, the command syntax and the script format.
package sim

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"wxoa/config"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// ReplyWindow is how long WeChat waits for a passive reply before it
// gives up on the try (and retries the push up to three times).
const ReplyWindow = 5 * time.Second

// Help is what `wxoa sim -h` prints.
const Help = `WeChat in a terminal: signs (and in safe mode encrypts) what you type the way
WeChat's servers push it, posts it to the callback and prints the decoded reply.
It reads the account's callback token, EncodingAESKey and path, and LISTEN_ADDR,
from the same configuration as serve; with several accounts (ACCOUNTS_FILE)
--account NAME chooses one. /help at its prompt lists the commands; --script
FILE replays a conversation and fails at the first reply that does not match.
`

// Streams are the command's terminal.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run runs `wxoa sim ARGS`. load reads the server's configuration, and is
// called only once the flags parse, so -h needs none; -h returns
// flag.ErrHelp after printing the usage.
func Run(ctx context.Context, args []string, load func() (*config.Config, error), e Streams) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	target := fs.String("url", "", "callback URL (default: http://127.0.0.1:<port of LISTEN_ADDR><the account's callback path>)")
	openID := fs.String("openid", "oSimUser0001", "the simulated user's openid (FromUserName)")
	name := fs.String("account", "", "the account to talk to, by name (needed with several accounts)")
	to := fs.String("to", "gh_sim000000001", "the account's original id (ToUserName)")
	plain := fs.Bool("plain", false, "send plaintext even when WECHAT_ENCODING_AES_KEY is set")
	script := fs.String("script", "", "replay this conversation script and check the replies")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim: unexpected arguments %q", fs.Args())
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	acct, err := config.ChooseAccount(cfg.Accounts, *name, "")
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	t, err := TargetFrom(cfg.ListenAddr, acct, *target, *plain)
	if err != nil {
		return err
	}
	t.OpenID, t.Account = *openID, *to
	// Longer than WeChat's window, so a slow server shows how slow it is.
	t.Client = &http.Client{Timeout: 3 * ReplyWindow}
	u, err := wechattest.NewFollower(t)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}

	if *script != "" {
		src, err := os.ReadFile(*script)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		steps, err := ParseScript(*script, string(src))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s\n", describe(t))
		return RunScript(ctx, u, *script, steps, e.Stdout, "")
	}
	return interact(ctx, u, e.Stdin, e.Stdout)
}

// TargetFrom derives the callback URL and mode from the server's own
// configuration (its listen address and the account's callback), so `sim`
// talks to `serve` with no flags.
func TargetFrom(listenAddr string, acct config.Account, rawURL string, plain bool) (wechattest.FollowerConfig, error) {
	if !acct.Callback() {
		return wechattest.FollowerConfig{}, fmt.Errorf("sim: account %s has no callback token: no callback is served for it", acct.Name)
	}
	t := wechattest.FollowerConfig{URL: rawURL, Token: acct.Token.Reveal()}
	if t.URL == "" {
		_, port, err := net.SplitHostPort(listenAddr)
		if err != nil || port == "" || port == "0" {
			return wechattest.FollowerConfig{}, fmt.Errorf("sim: cannot derive the callback URL from LISTEN_ADDR %q; pass --url", listenAddr)
		}
		t.URL = "http://127.0.0.1:" + port + acct.CallbackPath
	}
	if !acct.EncodingAESKey.Empty() && !plain {
		c, err := wechat.NewCrypter(acct.EncodingAESKey.Reveal(), acct.AppID)
		if err != nil {
			return wechattest.FollowerConfig{}, fmt.Errorf("sim: %w", err)
		}
		t.Crypter = c
	}
	return t, nil
}

// describe is the banner line: where the simulator pushes, how, as whom.
func describe(t wechattest.FollowerConfig) string {
	mode := "plaintext mode"
	if t.Crypter != nil {
		mode = "safe mode (AES)"
	}
	return fmt.Sprintf("wxoa sim → %s, %s, as %s to %s", t.URL, mode, t.OpenID, t.Account)
}

// interact is the prompt loop. Lines are read on their own goroutine so
// that Ctrl-C (ctx) ends the session even while waiting for input; that
// goroutine stops at the end of input, or is left blocked on a terminal
// read when the process is about to exit anyway.
func interact(ctx context.Context, u *wechattest.Follower, in io.Reader, out io.Writer) error {
	fmt.Fprintf(out, "%s\nType a message, /help for commands, /quit to leave.\n", describe(u.Config()))
	// Typed lines are already on the screen; piped ones are echoed so the
	// transcript reads as a conversation.
	echo := !isTerminal(in)
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		fmt.Fprint(out, "> ")
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return nil
		case line, ok = <-lines:
		}
		if !ok {
			fmt.Fprintln(out)
			select {
			case err := <-readErr:
				return err
			default:
				return nil
			}
		}
		if echo {
			fmt.Fprintln(out, line)
		}
		if line == "" {
			continue
		}
		cmd, err := parseSimLine(line)
		if err != nil {
			fmt.Fprintf(out, "✗ %v\n", err)
			continue
		}
		switch cmd.Kind {
		case simQuit:
			return nil
		case simShowHelp:
			fmt.Fprintln(out, simHelp)
			continue
		}
		printExchange(ctx, u, cmd, out)
	}
}

// printExchange sends one command and prints the reply, or the error: an
// interactive session goes on after a failed message.
func printExchange(ctx context.Context, u *wechattest.Follower, cmd simCommand, out io.Writer) {
	var res wechattest.Result
	var err error
	if cmd.Kind == simRetry {
		res, err = u.Retry(ctx)
	} else {
		res, err = u.Send(ctx, cmd.Msg)
	}
	var he *wechattest.HTTPError
	switch {
	case errors.As(err, &he):
		fmt.Fprintf(out, "✗ the server answered %v\n", he)
		return
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(out, "✗ %v\n  is the server running? (go run . serve)\n", err)
		return
	case err != nil:
		fmt.Fprintf(out, "✗ %v\n", err)
		return
	}
	fmt.Fprintln(out, Indent(Show(res.Reply), "  "))
	switch {
	case res.Elapsed > ReplyWindow:
		fmt.Fprintf(out, "  ⚠ took %.1fs: WeChat gives up after 5s and retries the message\n", res.Elapsed.Seconds())
	case res.Elapsed > ReplyWindow/10:
		fmt.Fprintf(out, "  (%.1fs)\n", res.Elapsed.Seconds())
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
