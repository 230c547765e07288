package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"wxoa/wechat/menu"
)

// How long the menu is cached: page loads should not each call WeChat
// (menu/get has a daily quota of its own), and a menu rarely changes.
// Failures are retried sooner, and a call is bounded so a slow WeChat
// delays the page by seconds at most.
const (
	menuTTL      = time.Minute
	menuErrTTL   = 15 * time.Second
	menuTimeout  = 5 * time.Second
	menuMaxDepth = 2 // WeChat's menus: top-level buttons and one level of sub_buttons
)

// menuView is the menu section. State is "ok", "none" (the account has no
// menu), "error" or "off" (no MenuSource configured).
type menuView struct {
	State       string
	Error       string
	Buttons     []buttonView
	Conditional int // personalised menus, not drawn
}

// buttonView is one node of the menu tree.
type buttonView struct {
	Name, Type, Detail string
	Sub                []buttonView
}

// menuCache holds the last menu for menuTTL. Concurrent page loads after
// it expires share one call (singleflight), which runs detached from the
// first caller's request so that caller leaving does not fail the others.
type menuCache struct {
	src    MenuSource
	noMenu func(error) bool
	now    func() time.Time
	log    *slog.Logger

	group singleflight.Group
	mu    sync.Mutex
	view  menuView
	until time.Time
}

func (c *menuCache) get(ctx context.Context) menuView {
	if c.src == nil {
		return menuView{State: "off"}
	}
	c.mu.Lock()
	v, fresh := c.view, c.now().Before(c.until)
	c.mu.Unlock()
	if fresh {
		return v
	}
	ch := c.group.DoChan("menu", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), menuTimeout)
		defer cancel()
		raw, err := c.src.Menu(fctx)
		v, ttl := c.interpret(raw, err)
		c.mu.Lock()
		c.view, c.until = v, c.now().Add(ttl)
		c.mu.Unlock()
		return v, nil
	})
	select {
	case res := <-ch:
		return res.Val.(menuView)
	case <-ctx.Done():
		return menuView{State: "error", Error: "menu not loaded: " + ctx.Err().Error()}
	}
}

// interpret turns menu/get's answer into the tree, and says how long to
// keep it.
func (c *menuCache) interpret(raw json.RawMessage, err error) (menuView, time.Duration) {
	if err != nil {
		if c.noMenu(err) {
			return menuView{State: "none"}, menuTTL
		}
		c.log.Warn("admin: menu not loaded", "err", err)
		return menuView{State: "error", Error: err.Error()}, menuErrTTL
	}
	var got struct {
		Menu        menu.Menu         `json:"menu"`
		Conditional []json.RawMessage `json:"conditionalmenu"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		c.log.Warn("admin: menu not understood", "err", err)
		return menuView{State: "error", Error: "menu/get answer not understood: " + err.Error()}, menuErrTTL
	}
	v := menuView{State: "ok", Buttons: buttons(got.Menu.Buttons, 1), Conditional: len(got.Conditional)}
	if len(v.Buttons) == 0 {
		v.State = "none"
	}
	return v, menuTTL
}

func buttons(bs []menu.Button, depth int) []buttonView {
	if len(bs) == 0 || depth > menuMaxDepth {
		return nil
	}
	out := make([]buttonView, len(bs))
	for i, b := range bs {
		out[i] = buttonView{Name: b.Name, Type: b.Type, Detail: detail(b), Sub: buttons(b.SubButtons, depth+1)}
	}
	return out
}

// detail is what a leaf button does: its key, its URL, or what it opens.
func detail(b menu.Button) string {
	switch {
	case b.AppID != "":
		s := "mini program " + b.AppID + " " + b.PagePath
		if b.URL != "" {
			s += " (fallback " + b.URL + ")"
		}
		return s
	case b.Key != "":
		return b.Key
	case b.URL != "":
		return b.URL
	case b.MediaID != "":
		return "media " + b.MediaID
	case b.ArticleID != "":
		return "article " + b.ArticleID
	}
	return ""
}
