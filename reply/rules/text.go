package rules

import (
	"fmt"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
)

// text is one templated string of a reply. Most replies are either constant
// or a field spliced into constant text; those are rendered without
// text/template (no reflection, at most one allocation), which keeps the
// per-message path cheap. Anything else goes through the parsed template.
type text struct {
	raw  string             // the output when there are no actions
	segs []segment          // fast path: literals and plain {{.Field}}s
	tmpl *template.Template // slow path: everything else
}

// segment is a literal (field == 0) or a plain field reference.
type segment struct {
	lit   string
	field stringField
}

// stringField names a string field of Data. A switch rather than getter
// funcs: a call through a func value makes Data escape to the heap.
type stringField uint8

const (
	noField stringField = iota
	fToUserName
	fFromUserName
	fMsgType
	fContent
	fEvent
	fEventKey
	fScene
	fRecognition
	fLabel
	fRest
	fAgentID
)

// stringFields are the Data fields the fast path can splice in. A string
// prints the same under text/template, so the fast path is exact.
var stringFields = map[string]stringField{
	"ToUserName": fToUserName, "FromUserName": fFromUserName, "MsgType": fMsgType,
	"Content": fContent, "Event": fEvent, "EventKey": fEventKey, "Scene": fScene,
	"Recognition": fRecognition, "Label": fLabel, "Rest": fRest, "AgentID": fAgentID,
}

func (d *Data) field(f stringField) string {
	switch f {
	case fToUserName:
		return d.ToUserName
	case fFromUserName:
		return d.FromUserName
	case fMsgType:
		return d.MsgType
	case fContent:
		return d.Content
	case fEvent:
		return d.Event
	case fEventKey:
		return d.EventKey
	case fScene:
		return d.Scene
	case fRecognition:
		return d.Recognition
	case fLabel:
		return d.Label
	case fRest:
		return d.Rest
	case fAgentID:
		return d.AgentID
	}
	return ""
}

// dataFields are the names a template may use on dot; a typo is reported at
// load time rather than on the first message that reaches the rule.
var dataFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Data]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			m[f.Name] = true
		}
	}
	return m
}()

// compileText parses src as a template named name. The error is meant to
// follow "file:line: "; it names the field and the bad part.
func compileText(name, src string) (text, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return text{}, fmt.Errorf("%s: bad template: %s", name, strings.TrimPrefix(err.Error(), "template: "))
	}
	if bad := unknownFields(t.Root, true, nil); len(bad) > 0 {
		return text{}, fmt.Errorf("%s: unknown template field %s (known: %s)", name, strings.Join(bad, ", "), knownFields())
	}
	nodes := t.Root.Nodes
	segs := make([]segment, 0, len(nodes))
	actions := false
	for _, n := range nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			segs = append(segs, segment{lit: string(n.Text)})
			continue
		case *parse.ActionNode:
			if f := plainField(n); f != noField {
				segs = append(segs, segment{field: f})
				actions = true
				continue
			}
		}
		return text{tmpl: t}, nil
	}
	if !actions {
		var b strings.Builder
		for _, s := range segs {
			b.WriteString(s.lit)
		}
		return text{raw: b.String()}, nil
	}
	return text{segs: segs}, nil
}

// plainField returns the field when n is exactly {{.Field}} of a string field.
func plainField(n *parse.ActionNode) stringField {
	p := n.Pipe
	if len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return noField
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return noField
	}
	return stringFields[f.Ident[0]]
}

// render produces the text for one message.
func (t *text) render(d *Data) (string, error) {
	switch {
	case t.tmpl != nil:
		return t.execute(d)
	case t.segs == nil:
		return t.raw, nil
	case len(t.segs) == 1:
		return d.field(t.segs[0].field), nil
	}
	n := 0
	for _, s := range t.segs {
		n += len(s.lit) + len(d.field(s.field))
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range t.segs {
		b.WriteString(s.lit)
		b.WriteString(d.field(s.field))
	}
	return b.String(), nil
}

// execute runs the full template. It works on a copy so that only this path
// moves the message data to the heap.
func (t *text) execute(d *Data) (string, error) {
	c := *d
	var b strings.Builder
	if err := t.tmpl.Execute(&b, &c); err != nil {
		return "", fmt.Errorf("render %s: %w", t.tmpl.Name(), err)
	}
	return b.String(), nil
}

// isConst reports whether the text is the same for every message.
func (t *text) isConst() bool { return t.tmpl == nil && t.segs == nil }

// unknownFields lists names used on the top-level dot (or $) that Data lacks.
// Inside range and with bodies dot is something else, so only $.X is checked
// there.
func unknownFields(n parse.Node, top bool, bad []string) []string {
	check := func(name string) {
		if !dataFields[name] {
			bad = append(bad, "."+name)
		}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return bad
		}
		for _, c := range n.Nodes {
			bad = unknownFields(c, top, bad)
		}
	case *parse.ActionNode:
		bad = unknownFields(n.Pipe, top, bad)
	case *parse.TemplateNode:
		bad = unknownFields(n.Pipe, top, bad)
	case *parse.IfNode:
		bad = unknownFields(n.Pipe, top, bad)
		bad = unknownFields(n.List, top, bad)
		bad = unknownFields(n.ElseList, top, bad)
	case *parse.RangeNode:
		bad = unknownFields(n.Pipe, top, bad)
		bad = unknownFields(n.List, false, bad)
		bad = unknownFields(n.ElseList, top, bad)
	case *parse.WithNode:
		bad = unknownFields(n.Pipe, top, bad)
		bad = unknownFields(n.List, false, bad)
		bad = unknownFields(n.ElseList, top, bad)
	case *parse.PipeNode:
		if n == nil {
			return bad
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				bad = unknownFields(a, top, bad)
			}
		}
	case *parse.ChainNode:
		bad = unknownFields(n.Node, top, bad)
	case *parse.FieldNode:
		if top {
			check(n.Ident[0])
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			check(n.Ident[1])
		}
	}
	return bad
}

func knownFields() string {
	names := make([]string, 0, len(dataFields))
	t := reflect.TypeFor[Data]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			names = append(names, "."+f.Name)
		}
	}
	return strings.Join(names, " ")
}
