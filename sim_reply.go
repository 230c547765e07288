package main

import (
	"strings"

	"wxoa/wechat"
)

// replyText is a callback's answer as the simulator shows it, without the
// arrow: the reply's own String (e.g. `text: Hello`, maybe several lines),
// or "(success: no reply)". Scripts match against it.
func replyText(r wechat.Reply) string {
	if r == nil {
		return "(success: no reply)"
	}
	return r.String()
}

// showReply is replyText as printed, after an arrow.
func showReply(r wechat.Reply) string { return "← " + replyText(r) }

// indent prefixes every line after the first, so multi-line replies line
// up under their arrow.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
