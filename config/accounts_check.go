package config

import (
	"regexp"
	"strings"
)

var varNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces each ${NAME} in s with NAME's value, looked up as Load
// looks up its variables (the environment, then the env file), and each $$
// with a literal $; any other $ stays as written. It reports each unset
// NAME and a malformed ${ as problems of key at line, naming the variable
// and never its value. The result is trimmed, as the loader trims
// variables. expanded says whether it holds a variable's value.
func (p *accountsParser) expand(key string, line int, s string) (v string, expanded, bad bool) {
	if !strings.Contains(s, "$") {
		return strings.TrimSpace(s), false, false
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) || s[i+1] != '$' && s[i+1] != '{' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 || !varNamePattern.MatchString(s[i+2:i+2+end]) {
			p.errorf(line, "%s: malformed ${...}: want ${NAME}, NAME of letters, digits and _ (write $$ for a literal $)", key)
			return "", false, true
		}
		name := s[i+2 : i+2+end]
		p.vars = append(p.vars, name)
		val := strings.TrimSpace(p.lookup(name))
		if val == "" {
			p.errorf(line, "%s: ${%s} is not set (in the environment or the env file)", key, name)
			bad = true
		}
		b.WriteString(val)
		expanded = true
		i += 3 + end
	}
	if bad {
		return "", false, true
	}
	return strings.TrimSpace(b.String()), expanded, false
}

// crossCheck reports what only the whole list shows: names, tokens
// (appids, WeCom applications) and callback paths used twice. Each error
// is on the later line and names the earlier.
func (p *accountsParser) crossCheck(accounts []*parsedAccount) {
	type first struct {
		name string // as shown
		line int
	}
	names := map[string]int{}
	ids := map[string]first{}
	paths := map[string]first{}
	for _, a := range accounts {
		if a.nameLine > 0 {
			if line, dup := names[a.Name]; dup {
				p.errorf(a.nameLine, "name %s is already used on line %d", a.nameShow, line)
			} else {
				names[a.Name] = a.nameLine
			}
		}
		if a.idLine > 0 {
			if f, dup := ids[a.Identity()]; dup {
				p.errorf(a.idLine, "%s is already account %s's (line %d): one token, one account", a.idShow, f.name, f.line)
			} else {
				ids[a.Identity()] = first{a.nameShow, a.idLine}
			}
		}
		if a.Callback() && a.pathShow != "" { // "": no path, the name being bad
			if f, dup := paths[a.CallbackPath]; dup {
				p.errorf(a.pathLine, "callback_path %s is already account %s's (line %d)", a.pathShow, f.name, f.line)
			} else {
				paths[a.CallbackPath] = first{a.nameShow, a.pathLine}
			}
		}
	}
}
