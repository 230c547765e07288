package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"wxoa/wechat"
	"wxoa/wechat/api"
)

// accountFields are the fields of an account, in the order the error for
// an unknown one lists them; the kinds a field applies to, nil for all.
type accountField struct {
	name  string
	kinds []Kind
}

var accountFields = []accountField{
	{"name", nil}, {"kind", nil},
	{"app_id", oaMP}, {"app_secret", oaMP}, {"token_mode", oaMP},
	{"corp_id", weCom}, {"corp_secret", weCom}, {"agent_id", weCom},
	{"token", nil}, {"encoding_aes_key", nil}, {"callback_path", nil}, {"rules_file", nil},
	{"data_format", []Kind{KindMiniProgram}},
	{"api_base", nil}, {"daily_limit", nil},
}

var (
	oaMP  = []Kind{KindOfficialAccount, KindMiniProgram}
	weCom = []Kind{KindWeCom}
)

// secretFields are never echoed in an error, not even as written.
var secretFields = map[string]bool{"app_secret": true, "corp_secret": true, "token": true, "encoding_aes_key": true}

// callbackFields mean nothing without a token: no callback is served.
var callbackFields = []string{"encoding_aes_key", "callback_path", "rules_file", "data_format"}

var (
	// idPattern keeps app_id and corp_id fit for file names and Redis keys,
	// which Account.Identity builds from them.
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
	agentIDPattern = regexp.MustCompile(`^[0-9]{1,10}$`)
)

// field is one field of an account as written and as expanded.
type field struct {
	key, val *yaml.Node
	raw      string // the text in the file: what an error may echo
	v        string // ${VAR}s expanded, trimmed; "" for an empty value
	expanded bool   // v holds a ${VAR}'s value: never echo v
	bad      bool   // already reported: not a scalar, or a ${VAR} problem
}

// set reports whether the field holds a usable value.
func (f *field) set() bool { return f != nil && !f.bad && f.v != "" }

// blank reports a field that is absent or written empty: missing, as a
// required field, without a second error for one already reported.
func (f *field) blank() bool { return f == nil || !f.bad && f.v == "" }

// parsedAccount is an Account with the lines the checks across accounts
// point at.
type parsedAccount struct {
	Account
	line     int // the account's mapping
	nameLine int // 0 when the name is missing or bad
	idLine   int // app_id or corp_id; 0 when the identity is incomplete
	pathLine int // callback_path, else the mapping
	// What errors about the whole list may show: as written, never a
	// ${VAR}'s value.
	nameShow, idShow, pathShow string
}

// account parses one item of the list; nil when it is not a mapping.
func (p *accountsParser) account(n *yaml.Node) *parsedAccount {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "an account: want a mapping (name: ..., app_id: ...), got %s", kindName(n))
		return nil
	}
	fs := p.fields(n)
	a := &parsedAccount{line: n.Line, nameShow: "(unnamed)",
		Account: Account{Kind: KindOfficialAccount, Source: p.file + ":" + strconv.Itoa(n.Line)}}
	known := true
	if f := fs["kind"]; f.set() {
		switch k := Kind(strings.ToLower(f.v)); k {
		case KindOfficialAccount, KindMiniProgram, KindWeCom:
			a.Kind = k
		default:
			p.errorf(f.val.Line, "kind: %s is not one of official_account, mini_program, wecom", p.show(f))
			known = false
		}
	}
	p.name(a, fs["name"])
	if known {
		p.belongs(a, fs)
		p.identity(a, fs)
	}
	p.callback(a, fs)
	p.api(a, fs)
	return a
}

// api reads api_base and daily_limit, defaulting to the server's.
func (p *accountsParser) api(a *parsedAccount, fs map[string]*field) {
	a.APIBase, a.DailyLimit = p.def.apiBase, p.def.dailyLimit
	example := api.WeChatBaseURL
	if a.Kind == KindWeCom {
		a.APIBase, example = p.def.weComAPIBase, api.WeComBaseURL
	}
	if f := fs["api_base"]; f.set() {
		u, problem := parseAPIBase(f.v, example)
		if problem != "" && f.expanded {
			// parseAPIBase quotes the value, which here holds a ${VAR}'s.
			problem = p.show(f) + " is not an absolute http(s) URL without query or fragment"
		}
		if problem != "" {
			p.errorf(f.val.Line, "api_base: %s", problem)
		}
		a.APIBase = u
	}
	if a.APIBase != nil {
		u := *a.APIBase // each account its own: nothing shared to mutate
		a.APIBase = &u
	}
	if f := fs["daily_limit"]; f.set() {
		n, err := strconv.Atoi(f.v)
		if err != nil || n <= 0 {
			p.errorf(f.val.Line, "daily_limit: %s is not a positive integer", p.show(f))
		}
		a.DailyLimit = n
	}
}

// fields collects the mapping's fields, reporting unknown and repeated
// keys, values that are not scalars, and ${VAR} problems.
func (p *accountsParser) fields(n *yaml.Node) map[string]*field {
	fs := map[string]*field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode || !knownField(key):
			p.errorf(k.Line, "unknown field %s%s", strconv.Quote(echo(key)), suggest(key))
			continue
		case fs[key] != nil:
			p.errorf(k.Line, "%s: repeated (first on line %d)", key, fs[key].key.Line)
			continue
		}
		f := &field{key: k, val: v}
		fs[key] = f
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
		case v.Kind != yaml.ScalarNode:
			p.errorf(v.Line, "%s: want a single value, got %s", key, kindName(v))
			f.bad = true
		default:
			f.raw = v.Value
			f.v, f.expanded, f.bad = p.expand(key, v.Line, v.Value)
		}
	}
	return fs
}

func knownField(key string) bool {
	return slices.ContainsFunc(accountFields, func(f accountField) bool { return f.name == key })
}

// suggest names the field a misspelling such as appid or AppSecret meant.
func suggest(key string) string {
	fold := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	for _, f := range accountFields {
		if fold(f.name) == fold(key) {
			return " (did you mean " + f.name + "?)"
		}
	}
	names := make([]string, len(accountFields))
	for i, f := range accountFields {
		names[i] = f.name
	}
	return " (want one of " + strings.Join(names, ", ") + ")"
}

// show is a field's value as an error may echo it: quoted as written in
// the file (never a ${VAR}'s value), URL keys and passwords cut; nothing
// for a secret.
func (p *accountsParser) show(f *field) string {
	if secretFields[f.key.Value] {
		return "(value not shown)"
	}
	return strconv.Quote(echo(f.raw))
}

func (p *accountsParser) name(a *parsedAccount, f *field) {
	switch {
	case f.blank():
		p.errorf(a.line, "name is missing: every account needs one (lowercase letters, digits, - and _)")
	case f.set() && !AccountNamePattern.MatchString(f.v):
		p.errorf(f.val.Line, "name: %s is not a name: 1-64 lowercase letters, digits, - and _, starting with a letter or digit", p.show(f))
	case f.set():
		a.Name, a.nameLine, a.nameShow = f.v, f.val.Line, p.show(f)
	}
}

// belongs reports fields set on an account of a kind they do not apply to.
func (p *accountsParser) belongs(a *parsedAccount, fs map[string]*field) {
	for _, af := range accountFields {
		f := fs[af.name]
		if f == nil || af.kinds == nil || slices.Contains(af.kinds, a.Kind) {
			continue
		}
		names := make([]string, len(af.kinds))
		for i, k := range af.kinds {
			names[i] = string(k)
		}
		p.errorf(f.key.Line, "%s does not apply to kind %s (only to %s)", af.name, a.Kind, strings.Join(names, " and "))
	}
}

// identity reads the credentials of the account's kind.
func (p *accountsParser) identity(a *parsedAccount, fs map[string]*field) {
	idKey, secretKey := "app_id", "app_secret"
	if a.Kind == KindWeCom {
		idKey, secretKey = "corp_id", "corp_secret"
	}
	required := []string{idKey, secretKey}
	if a.Kind == KindWeCom {
		required = append(required, "agent_id")
	}
	for _, k := range required {
		if fs[k].blank() {
			p.errorf(a.line, "%s is missing (kind %s needs %s)", k, a.Kind, strings.Join(required, ", "))
		}
	}
	complete := true
	if f := fs[idKey]; f.set() && idPattern.MatchString(f.v) {
		a.AppID = f.v
	} else {
		complete = false
		if f.set() {
			p.errorf(f.val.Line, "%s: %s is not an id: 1-64 letters, digits, - and _, not starting with - (e.g. wx1234567890abcdef)", idKey, p.show(f))
		}
	}
	if f := fs[secretKey]; f.set() {
		a.Secret = wechat.Secret(f.v)
	}
	if a.Kind == KindWeCom {
		if f := fs["agent_id"]; f.set() && agentIDPattern.MatchString(f.v) {
			a.AgentID = f.v
		} else {
			complete = false
			if f.set() {
				p.errorf(f.val.Line, "agent_id: %s is not an AgentId: digits (e.g. 1000002)", p.show(f))
			}
		}
	}
	if complete {
		a.idLine, a.idShow = fs[idKey].val.Line, idKey+" "+p.show(fs[idKey])
	}
	if a.Kind == KindWeCom {
		if complete {
			a.idShow += " with agent_id " + p.show(fs["agent_id"])
		}
		return
	}
	a.Mode = api.ModeClassic
	if f := fs["token_mode"]; f.set() {
		switch m := api.Mode(strings.ToLower(f.v)); m {
		case api.ModeClassic, api.ModeStable:
			a.Mode = m
		default:
			p.errorf(f.val.Line, "token_mode: %s is not one of classic, stable", p.show(f))
		}
	}
}
