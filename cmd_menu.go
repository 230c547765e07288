package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"wxoa/config"
	"wxoa/wechat"
	"wxoa/wechat/menu"
)

const menuHelp = `  push FILE   validate FILE locally (every problem at once), then set it as the
              account's menu; FILE may be what "menu get" printed
  get         print the current menu as JSON ("no menu is set" and exit 0 if none)
  delete      delete the menu (personalised menus included)
  --account NAME / --appid APPID, before the subcommand, choose the Official
  Account when there are several (ACCOUNTS_FILE).
Needs the account's appid and app secret; calls carry the managed token.
`

// menuCommand runs `menu push FILE`, `menu get` and `menu delete`.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
func menuCommand(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("menu", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sel := addAccountFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	var m *menu.Menu
	var conditional int
	switch {
	case len(args) == 2 && args[0] == "push":
		// Validate before anything that could reach WeChat.
		var err error
		if m, conditional, err = readMenu(args[1]); err != nil {
			return err
		}
	case len(args) == 1 && (args[0] == "get" || args[0] == "delete"):
	default:
		return fmt.Errorf("usage: menu [--account NAME] push FILE | get | delete (got %q)", args)
	}
	a, acct, err := cliAccount(e, sel)
	if err != nil {
		return err
	}
	defer a.Close()
	if acct.Spec.Kind != config.KindOfficialAccount {
		return fmt.Errorf("account %s is a %s: the custom menu is an Official Account's", acct.Name(), acct.Spec.Kind)
	}
	// acct.Calls carries the account's managed token; a rejected one is
	// refreshed and the call retried once by its Transport.
	switch args[0] {
	case "push":
		if err := menu.Push(ctx, acct.Calls, m); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "menu pushed:\n%s", m.Summary())
		if conditional > 0 {
			fmt.Fprintf(e.stdout, "%d personalised menu(s) in %s left as they are on WeChat (push sets the default menu only)\n",
				conditional, args[1])
		}
	case "get":
		raw, err := menu.Fetch(ctx, acct.Calls)
		var apiErr *wechat.APIError
		if errors.As(err, &apiErr) && apiErr.Code == 46003 {
			fmt.Fprintln(e.stderr, "no menu is set (errcode 46003); `wxoa menu push FILE` sets one")
			return nil
		}
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if json.Indent(&out, raw, "", "  ") != nil {
			out.Write(raw)
		}
		fmt.Fprintln(e.stdout, out.String())
	case "delete":
		if err := menu.Delete(ctx, acct.Calls); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "menu deleted")
	}
	return nil
}

func readMenu(path string) (*menu.Menu, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("menu: %w", err)
	}
	m, conditional, err := menu.Parse(data)
	if err != nil {
		return nil, 0, fmt.Errorf("menu %s: %w", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, 0, fmt.Errorf("menu %s is invalid; nothing was sent:\n%w", path, err)
	}
	return m, conditional, nil
}
