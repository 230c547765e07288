package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"wxoa/config"
	"wxoa/internal/account"
	"wxoa/wechat/redisurl"
)

const tokenHelp = `Prints a valid access_token for shell scripts, through the same store and
locks as a running server: it never causes a second fetch that would
invalidate the server's token. With several accounts (ACCOUNTS_FILE), name one:
  --account NAME   the account's name
  --appid APPID    or its appid (Official Accounts and Mini Programs)
Needs the account's app secret.
`

// printToken prints a valid access_token for shell scripts, through the
// same store and locks as a running server, so it never causes a second
// fetch that would invalidate the server's token.
func printToken(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sel := addAccountFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token takes no arguments besides --account/--appid, got %q", fs.Args())
	}
	a, acct, err := cliAccount(e, sel)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := acct.Tokens.Token(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, t)
	return err
}

// accountFlags are --account and --appid, which choose the account a
// one-shot command works on.
type accountFlags struct{ name, appID *string }

func addAccountFlags(fs *flag.FlagSet) accountFlags {
	return accountFlags{
		name:  fs.String("account", "", "the account's name (needed with several accounts)"),
		appID: fs.String("appid", "", "or its appid"),
	}
}

// errNoCredentials is an account chosen for a command that calls WeChat,
// without the secret to do it.
var errNoCredentials = errors.New("this command calls WeChat: the account needs its appid and app secret (WECHAT_APP_ID and WECHAT_APP_SECRET, or app_secret in ACCOUNTS_FILE)")

// cliAccount builds the app for a one-shot command with the one account
// sel chooses, and only that one: logs (warnings and up) go to stderr so
// stdout stays clean for the result.
func cliAccount(e env, sel accountFlags) (*app, *account.Account, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, nil, err
	}
	spec, err := config.ChooseAccount(cfg.Accounts, *sel.name, *sel.appID)
	if err != nil {
		return nil, nil, err
	}
	if !spec.ActiveCalls() {
		return nil, nil, fmt.Errorf("account %s: %w", spec.Name, errNoCredentials)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: max(cfg.LogLevel, slog.LevelWarn)}))
	redisurl.SetLogger(log)
	a := newApp(cfg, log)
	if err := a.openAccounts(a.shared(), []config.Account{spec}, nil); err != nil {
		a.Close()
		return nil, nil, err
	}
	acct, _ := a.accounts.Lookup(spec.Name)
	return a, acct, nil
}
