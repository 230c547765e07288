package sim

import (
	"strings"

	"wxoa/wechat"
)

// ReplyText is a callback's answer as the simulator shows it, without the
// arrow: the reply's own String (e.g. `text: Hello`, maybe several lines),
// or "(success: no reply)". Scripts match against it.
func ReplyText(r wechat.Reply) string {
	if r == nil {
		return "(success: no reply)"
	}
	return r.String()
}

// Show is ReplyText as printed, after an arrow.
func Show(r wechat.Reply) string { return "← " + ReplyText(r) }

// Indent prefixes every line after the first, so multi-line replies line
// up under their arrow.
func Indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
