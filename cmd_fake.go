package main

import (
	"context"
	"flag"
	"fmt"

	"wxoa/wechat/wechattest"
)

const fakeHelp = `Runs the fake WeChat API of the tests (wechattest) until interrupted, so that
serve, token, menu and your own services can be tried with no account and no
internet: point WECHAT_API_BASE at the printed URL and use the printed appid and
secret. It mints tokens like WeChat (expiry, replacement, stable_token), stores
menus and accepts customer-service messages.
  --addr HOST:PORT   where to listen (default 127.0.0.1:9999; a port of 0 picks one)
`

// fakeCommand runs `fake`: wechattest.Server on a fixed address.
func fakeCommand(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:9999", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("fake: unexpected arguments %q", fs.Args())
	}
	s, err := wechattest.Listen(*addr, wechattest.Options{})
	if err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	defer s.Close()
	fmt.Fprintf(e.stdout, `fake WeChat API on %s (Ctrl-C stops it). Point wxoa at it:
  WECHAT_API_BASE=%s
  WECHAT_APP_ID=%s
  WECHAT_APP_SECRET=%s
`, s.URL, s.URL, s.AppID(), s.AppSecret())
	<-ctx.Done()
	return nil
}
