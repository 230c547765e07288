package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"wxoa/wechat"
	"wxoa/wechat/menu"
)

const menuHelp = `  push FILE   validate FILE locally (every problem at once), then set it as the
              account's menu; FILE may be what "menu get" printed
  get         print the current menu as JSON ("no menu is set" and exit 0 if none)
  delete      delete the menu (personalised menus included)
Needs WECHAT_APP_ID and WECHAT_APP_SECRET; calls carry the managed token.
`

// menuCommand runs `menu push FILE`, `menu get` and `menu delete`.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
func menuCommand(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: menu push FILE | menu get | menu delete")
	}
	switch sub := args[0]; {
	case sub == "push" && len(args) == 2:
		// Validate before anything that could reach WeChat.
		m, conditional, err := readMenu(args[1])
		if err != nil {
			return err
		}
		calls, a, err := menuAPI(e)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := menu.Push(ctx, calls, m); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "menu pushed:\n%s", m.Summary())
		if conditional > 0 {
			fmt.Fprintf(e.stdout, "%d personalised menu%s in %s left as they are on WeChat (push sets the default menu only)\n",
				conditional, map[bool]string{true: "s", false: ""}[conditional > 1], args[1])
		}
		return nil
	case sub == "get" && len(args) == 1:
		calls, a, err := menuAPI(e)
		if err != nil {
			return err
		}
		defer a.Close()
		raw, err := menu.Fetch(ctx, calls)
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
		return nil
	case sub == "delete" && len(args) == 1:
		calls, a, err := menuAPI(e)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := menu.Delete(ctx, calls); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "menu deleted")
		return nil
	}
	return fmt.Errorf("usage: menu push FILE | menu get | menu delete (got %q)", args)
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

func menuAPI(e env) (menu.API, *app, error) {
	a, err := cliApp(e)
	if err != nil {
		return nil, nil, err
	}
	// The client carries the managed token; a rejected one is refreshed
	// and the call retried once by its Transport.
	return a.calls, a, nil
}
