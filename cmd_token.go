package main

import (
	"context"
	"fmt"
	"log/slog"

	"wxoa/wechat/redisurl"
)

const tokenHelp = `Prints a valid access_token for shell scripts, through the same store and
locks as a running server: it never causes a second fetch that would
invalidate the server's token. Needs WECHAT_APP_ID and WECHAT_APP_SECRET.
`

// printToken prints a valid access_token for shell scripts, through the
// same store and locks as a running server, so it never causes a second
// fetch that would invalidate the server's token.
func printToken(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("token takes no arguments, got %q", args)
	}
	a, err := cliApp(e)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.tokens.Token(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, t)
	return err
}

// cliApp builds the app for a one-shot command: logs (warnings and up) go
// to stderr so stdout stays clean for the result.
func cliApp(e env) (*app, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: max(cfg.LogLevel, slog.LevelWarn)}))
	redisurl.SetLogger(log)
	a, err := newApp(cfg, log)
	if err != nil {
		return nil, err
	}
	if a.tokens == nil {
		a.Close() // the Redis clients newApp may have opened
		return nil, errNoCredentials
	}
	return a, nil
}
