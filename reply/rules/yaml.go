package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a rules file, at a line. Parse reports every
// problem it finds, joined with errors.Join.
type Error struct {
	File string
	Line int // 0 when the problem has no line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// parser collects problems while walking the YAML tree, so that an admin
// sees all of them in one run.
type parser struct {
	file string
	errs []*Error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err joins the problems in line order: some are found only after a whole
// rule has been read.
func (p *parser) err() error {
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Line - b.Line })
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are yaml.v3's parser (not scanner) errors. For these it
// prints a 0-based line, usually that of the list or mapping being parsed
// rather than of the problem itself: the 1-based line is one more, and it is
// near the mistake, not always on it.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected node content",
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into "file:N: msg".
func (p *parser) syntaxError(err error) {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "bad YAML: " + strings.TrimPrefix(msg, "yaml: ")})
		return
	}
	line, _ := strconv.Atoi(m[1])
	if slices.Contains(yamlParserProblems, m[2]) {
		p.errs = append(p.errs, &Error{File: p.file, Line: line + 1,
			Msg: "bad YAML at or below this line: " + m[2] + " (check indentation, quotes and brackets)"})
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "bad YAML: " + m[2]})
}

// entry is one key: value of a mapping.
type entry struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// mapping returns the entries of a mapping node in file order, reporting
// keys that are not allowed (typos) or repeated. ok is false when n is not a
// mapping at all.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) (es []entry, ok bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping (key: value lines), got %s", what, kindName(n))
		return nil, false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		key := k.Value
		switch {
		case !slices.Contains(allowed, key):
			p.errorf(k, "%s: unknown key %q (want one of %s)", what, key, strings.Join(allowed, ", "))
		case seen[key] != 0:
			p.errorf(k, "%s: key %q repeated (first on line %d)", what, key, seen[key])
		default:
			seen[key] = k.Line
			es = append(es, entry{key: key, k: k, v: v})
		}
	}
	return es, true
}

func lookup(es []entry, key string) *entry {
	for i := range es {
		if es[i].key == key {
			return &es[i]
		}
	}
	return nil
}

// scalar returns the value of a scalar node. Numbers and booleans are taken
// as written (keyword: 110 means the text "110").
func (p *parser) scalar(e *entry) (string, bool) {
	if e.v.Kind != yaml.ScalarNode || e.v.ShortTag() == "!!null" {
		p.errorf(e.v, "%s: want a string, got %s", e.key, kindName(e.v))
		return "", false
	}
	return e.v.Value, true
}

// nonEmpty is scalar, refusing blank values.
func (p *parser) nonEmpty(e *entry) (string, bool) {
	s, ok := p.scalar(e)
	if ok && strings.TrimSpace(s) == "" {
		p.errorf(e.v, "%s: is empty", e.key)
		return "", false
	}
	return s, ok
}

// strings returns a scalar or a list of scalars, each non-blank.
func (p *parser) stringList(e *entry) []string {
	if e.v.Kind != yaml.SequenceNode {
		s, ok := p.nonEmpty(e)
		if !ok {
			return nil
		}
		return []string{s}
	}
	if len(e.v.Content) == 0 {
		p.errorf(e.v, "%s: empty list", e.key)
		return nil
	}
	var out []string
	for _, n := range e.v.Content {
		if s, ok := p.nonEmpty(&entry{key: e.key, v: deref(n)}); ok {
			out = append(out, s)
		}
	}
	return out
}
