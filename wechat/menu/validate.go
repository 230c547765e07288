package menu

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"wxoa/wechat"
)

// WeChat's limits on a menu. Lengths are in bytes of UTF-8, so a CJK
// character counts 3: five fit in a top-level name, six do not.
const (
	MaxButtons      = 3
	MaxSubButtons   = 5
	MaxNameBytes    = 16 // top-level buttons, and any button that opens a sub-menu
	MaxSubNameBytes = 60
	MaxKeyBytes     = 128
	MaxURLBytes     = 1024
)

// ValidationError is one problem with one button. Path locates it the way a
// JSON index would, 0-based: "button[1].sub_button[4]".
type ValidationError struct {
	Path    string
	Problem string
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.Problem }

// Types lists the button types WeChat accepts, in the order its docs give.
func Types() []string {
	return []string{
		"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
		"pic_photo_or_album", "pic_weixin", "location_select", "media_id",
		"article_id", "article_view_limited", "miniprogram",
	}
}

// requiredFields gives, for a type, the JSON fields a leaf of that type must
// set; ok is false for a type WeChat does not know.
func requiredFields(typ string) (fields []string, ok bool) {
	switch typ {
	case "click", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
		"pic_photo_or_album", "pic_weixin", "location_select":
		return []string{"key"}, true
	case "view":
		return []string{"url"}, true
	case "media_id":
		return []string{"media_id"}, true
	case "article_id", "article_view_limited":
		return []string{"article_id"}, true
	case "miniprogram":
		// url is what clients too old for mini programs open instead.
		return []string{"url", "appid", "pagepath"}, true
	}
	return nil, false
}

func (b *Button) field(name string) string {
	switch name {
	case "key":
		return b.Key
	case "url":
		return b.URL
	case "media_id":
		return b.MediaID
	case "article_id":
		return b.ArticleID
	case "appid":
		return b.AppID
	case "pagepath":
		return b.PagePath
	}
	return ""
}

type problems []error

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, &ValidationError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

// Validate checks the menu against WeChat's rules and reports every problem
// at once (joined with errors.Join, each a *ValidationError), or nil.
func (m *Menu) Validate() error {
	if m == nil {
		return errors.New("menu is nil")
	}
	var ps problems
	switch n := len(m.Buttons); {
	case n == 0:
		ps.add("button", "no buttons, want 1 to %d", MaxButtons)
	case n > MaxButtons:
		ps.add("button", "%d buttons, at most %d", n, MaxButtons)
	}
	for i := range m.Buttons {
		b := &m.Buttons[i]
		path := fmt.Sprintf("button[%d]", i)
		if len(b.SubButtons) == 0 {
			ps.leaf(path, b, MaxNameBytes)
			continue
		}
		ps.name(path, b.Name, MaxNameBytes)
		ps.lengths(path, b)
		if b.Type != "" {
			ps.add(path, "has sub_button, so it takes no type (got %q)", b.Type)
		}
		if n := len(b.SubButtons); n > MaxSubButtons {
			ps.add(path+".sub_button", "%d sub-buttons, at most %d", n, MaxSubButtons)
		}
		for j := range b.SubButtons {
			s := &b.SubButtons[j]
			spath := fmt.Sprintf("%s.sub_button[%d]", path, j)
			if len(s.SubButtons) > 0 {
				ps.add(spath, "menus nest two levels deep at most: a sub-button cannot have sub_button")
			}
			ps.leaf(spath, s, MaxSubNameBytes)
		}
	}
	return errors.Join(ps...)
}

func (ps *problems) name(path, name string, max int) {
	switch {
	case strings.TrimSpace(name) == "":
		ps.add(path, "name is missing")
	case len(name) > max:
		ps.add(path, "name is %d bytes, at most %d", len(name), max)
	}
}

// lengths checks the fields whose limits hold whatever the type.
func (ps *problems) lengths(path string, b *Button) {
	if len(b.Key) > MaxKeyBytes {
		ps.add(path, "key is %d bytes, at most %d", len(b.Key), MaxKeyBytes)
	}
	if b.URL == "" {
		return
	}
	if len(b.URL) > MaxURLBytes {
		ps.add(path, "url is %d bytes, at most %d", len(b.URL), MaxURLBytes)
	} else if reason := badURL(b.URL); reason != "" {
		ps.add(path, "url %s", reason)
	}
}

func (ps *problems) leaf(path string, b *Button, maxName int) {
	ps.name(path, b.Name, maxName)
	ps.lengths(path, b)
	if b.Type == "" {
		ps.add(path, "type is missing (a button without sub_button needs one of: %s)", strings.Join(Types(), ", "))
		return
	}
	fields, ok := requiredFields(b.Type)
	if !ok {
		ps.add(path, "unknown type %q; valid types: %s", b.Type, strings.Join(Types(), ", "))
		return
	}
	for _, f := range fields {
		if strings.TrimSpace(b.field(f)) == "" {
			ps.add(path, "type %s needs %s", b.Type, f)
		}
	}
}

// badURL says why s is not an absolute http(s) URL, or "" when it is. It
// never quotes s back: a page URL may carry a query the operator would
// rather not see echoed into logs.
func badURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL: " + wechat.StripURL(err).Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an absolute http or https URL (scheme is %q)", u.Scheme)
	case u.Host == "":
		return "has no host"
	}
	return ""
}
