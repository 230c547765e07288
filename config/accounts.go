package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AccountError is one problem in ACCOUNTS_FILE, at a line. Load, FromMap
// and ReloadAccounts report every one they find, joined with errors.Join
// in line order after the VarErrors; its text never contains a secret nor
// the value of a ${VAR}.
type AccountError struct {
	File string // ACCOUNTS_FILE as given
	Line int    // 0: the file as a whole
	Msg  string
}

func (e *AccountError) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// maxAccountsFile bounds the read: a thousand accounts take well under a
// megabyte, and a path such as /dev/zero must not eat the memory.
const maxAccountsFile = 16 << 20

// accountDefaults are the server-wide values an account takes for the
// fields it leaves out.
type accountDefaults struct {
	apiBase      *url.URL // WECHAT_API_BASE
	weComAPIBase *url.URL // WECOM_API_BASE
	dailyLimit   int      // TOKEN_DAILY_LIMIT
}

// accounts reads ACCOUNTS_FILE (path, relative to the working directory)
// and returns its accounts and the ${VAR} names it references. Problems go
// to l.errs: with the single-account variables, as VarErrors; in the file,
// as AccountErrors.
func (l *loader) accounts(path string, def accountDefaults) ([]Account, []string) {
	for _, v := range singleAccountVars {
		if l.str(v.name, "") != "" {
			l.fail(v.name, "must be unset when ACCOUNTS_FILE is set: each account sets its own %s in %s", v.field, echo(path))
		}
	}
	data, err := readAccountsFile(path)
	if err != nil {
		l.fail(envAccountsFile, "%v", err)
		return nil, nil
	}
	accounts, vars, errs := parseAccounts(path, data, l.lookup, def)
	for _, e := range errs {
		l.errs = append(l.errs, e)
	}
	return accounts, vars
}

// singleAccountVars are the variables an accounts file replaces, with the
// field that takes their place.
var singleAccountVars = [...]struct{ name, field string }{
	{envAppID, "app_id"}, {envAppSecret, "app_secret"}, {envToken, "token"},
	{envEncodingAESKey, "encoding_aes_key"}, {envCallbackPath, "callback_path"},
	{envRulesFile, "rules_file"}, {envTokenMode, "token_mode"},
}

func readAccountsFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist (a relative path is relative to the working directory)", echo(path))
	}
	if err != nil {
		return nil, fmt.Errorf("%s cannot be opened: %w", echo(path), errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAccountsFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s cannot be read: %w", echo(path), errors.Unwrap(err))
	case len(data) > maxAccountsFile:
		return nil, fmt.Errorf("%s is larger than %s", echo(path), formatBytes(maxAccountsFile))
	}
	return data, nil
}

// accountsParser walks the YAML tree, collecting every problem so that an
// operator fixes the whole file in one pass.
type accountsParser struct {
	file   string // labels errors and Account.Source
	dir    string // where a relative rules_file is looked for
	lookup func(string) string
	def    accountDefaults
	errs   []*AccountError
	vars   []string // every ${VAR} referenced, in order
}

func (p *accountsParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &AccountError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// parseAccounts parses an accounts file; file labels the errors and is
// where a relative rules_file is resolved from. The errors come sorted by
// line; accounts is nil when there are any.
func parseAccounts(file string, data []byte, lookup func(string) string, def accountDefaults) ([]Account, []string, []*AccountError) {
	p := &accountsParser{file: file, dir: filepath.Dir(file), lookup: lookup, def: def}
	list := p.document(data)
	var parsed []*parsedAccount
	for _, n := range list {
		if a := p.account(n); a != nil {
			parsed = append(parsed, a)
		}
	}
	p.crossCheck(parsed)
	slices.SortStableFunc(p.errs, func(a, b *AccountError) int { return a.Line - b.Line })
	if len(p.errs) > 0 {
		return nil, p.vars, p.errs
	}
	accounts := make([]Account, len(parsed))
	for i, a := range parsed {
		accounts[i] = a.Account
	}
	return accounts, p.vars, nil
}

// document returns the items of the accounts: list, reporting a file that
// is not one YAML mapping with exactly that key.
func (p *accountsParser) document(data []byte) []*yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(0, "the file is empty: want an accounts: list")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.errorf(next.Line, "a second YAML document: want one, with an accounts: list")
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		p.errorf(0, "the file is empty: want an accounts: list")
		return nil
	}
	top := deref(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top.Line, "want a mapping with an accounts: list, got %s", kindName(top))
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		switch {
		case k.Value != "accounts":
			p.errorf(k.Line, "unknown key %q at the top level (want accounts)", k.Value)
		case list != nil:
			p.errorf(k.Line, "accounts: repeated (first on line %d)", list.Line)
		default:
			list = deref(top.Content[i+1])
		}
	}
	switch {
	case list == nil:
		p.errorf(top.Line, "no accounts: list")
	case list.Kind == yaml.ScalarNode && list.ShortTag() == "!!null", list.Kind == yaml.SequenceNode && len(list.Content) == 0:
		p.errorf(list.Line, "accounts: the list is empty: want at least one account")
	case list.Kind != yaml.SequenceNode:
		p.errorf(list.Line, "accounts: want a list of accounts (- name: ...), got %s", kindName(list))
	default:
		return list.Content
	}
	return nil
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are yaml's parser (not scanner) errors, whose line is
// 0-based (as reply/rules has found).
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected node content",
}

// syntaxError restates yaml's "yaml: line N: msg" as "FILE:N: msg". yaml
// names the line where the construct being read starts, so the mistake is
// there or below. Its messages name the construct, never the text, so no
// secret shows.
func (p *accountsParser) syntaxError(err error) {
	m := yamlErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		p.errorf(0, "bad YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	if slices.Contains(yamlParserProblems, m[2]) {
		line++
	}
	p.errorf(line, "bad YAML at or below this line: %s (check indentation, quotes and brackets)", m[2])
}

// deref follows aliases; the bound is only against a malformed tree.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
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
		return "a value"
	}
	return "something else"
}
