// Package menu reads, checks and publishes an Official Account's custom menu.
//
// Validate applies WeChat's own limits locally, so an operator learns about
// every mistake at once instead of one errcode per round trip.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
package menu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Menu is the body of /cgi-bin/menu/create.
type Menu struct {
	Buttons []Button `json:"button"`
}

// Button is one menu entry. A button with SubButtons opens a sub-menu and has
// no Type of its own; any other button is a leaf whose Type decides which of
// the other fields WeChat needs.
type Button struct {
	Type       string   `json:"type,omitempty"`
	Name       string   `json:"name,omitempty"`
	Key        string   `json:"key,omitempty"`
	URL        string   `json:"url,omitempty"`
	MediaID    string   `json:"media_id,omitempty"`
	ArticleID  string   `json:"article_id,omitempty"`
	AppID      string   `json:"appid,omitempty"`
	PagePath   string   `json:"pagepath,omitempty"`
	SubButtons []Button `json:"sub_button,omitempty"`
}

// Parse decodes a menu strictly: a misspelt field would otherwise be dropped
// silently and the button published without it. It takes the body of
// menu/create, or what menu/get answers — {"menu":{...}} with WeChat's
// menuid, and personalised menus under "conditionalmenu" — so that
// `menu get > m.json && menu push m.json` round-trips. Personalised menus
// are counted, not returned: create sets the default menu only, and leaves
// them as they are on WeChat.
func Parse(data []byte) (m *Menu, conditional int, err error) {
	var probe struct {
		Menu json.RawMessage `json:"menu"`
	}
	if json.Unmarshal(data, &probe) != nil || probe.Menu == nil {
		m, err = parseMenu(data)
		return m, 0, err
	}
	var get struct {
		Menu        json.RawMessage   `json:"menu"`
		Conditional []json.RawMessage `json:"conditionalmenu"`
	}
	if err := strict(data, &get); err != nil {
		return nil, 0, fmt.Errorf("parse menu: %w (want a menu, or menu/get's answer with \"menu\" and \"conditionalmenu\")", err)
	}
	m, err = parseMenu(get.Menu)
	return m, len(get.Conditional), err
}

// got is a menu as menu/get shows it: with the id WeChat gave it.
type got struct {
	Buttons []Button    `json:"button"`
	MenuID  json.Number `json:"menuid"`
}

func parseMenu(data []byte) (*Menu, error) {
	var g got
	if err := strict(data, &g); err != nil {
		return nil, fmt.Errorf("parse menu: %w", err)
	}
	return &Menu{Buttons: g.Buttons}, nil
}

// strict decodes exactly one JSON value with no unknown fields.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty input")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the menu object")
	}
	return nil
}

// Summary renders the menu as a short tree for a terminal, e.g.
//
//	3 buttons
//	├─ 最新资讯  click NEWS
//	└─ 关于
//	   └─ 官方网站  view https://example.com/
func (m *Menu) Summary() string {
	if m == nil {
		return "(no menu)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d button%s\n", len(m.Buttons), plural(len(m.Buttons)))
	for i, top := range m.Buttons {
		last := i == len(m.Buttons)-1
		writeLine(&b, "", last, top)
		indent := "│  "
		if last {
			indent = "   "
		}
		for j, sub := range top.SubButtons {
			writeLine(&b, indent, j == len(top.SubButtons)-1, sub)
		}
	}
	return b.String()
}

func writeLine(b *strings.Builder, indent string, last bool, btn Button) {
	branch := "├─ "
	if last {
		branch = "└─ "
	}
	b.WriteString(indent + branch + printable(btn.Name))
	if d := detail(btn); d != "" {
		b.WriteString("  " + d)
	}
	b.WriteByte('\n')
}

// detail names the type and the one field that says what the button does.
func detail(btn Button) string {
	if len(btn.SubButtons) > 0 && btn.Type == "" {
		return ""
	}
	var target string
	switch btn.Type {
	case "view":
		target = btn.URL
	case "media_id":
		target = btn.MediaID
	case "article_id", "article_view_limited":
		target = btn.ArticleID
	case "miniprogram":
		target = btn.AppID + " " + btn.PagePath
	default:
		target = btn.Key
	}
	typ := btn.Type
	if typ == "" {
		typ = "(no type)"
	}
	return strings.TrimSpace(typ + " " + printable(target))
}

// printable keeps a stray newline in a name from breaking the tree.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
