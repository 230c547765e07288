package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"wxoa/wechat"
)

// callback reads the callback fields: token, key, path, rules, format.
func (p *accountsParser) callback(a *parsedAccount, fs map[string]*field) {
	a.CallbackPath, a.pathLine = "/wechat/"+a.Name, a.line
	if a.nameLine > 0 {
		a.pathShow = strconv.Quote("/wechat/" + echo(strings.TrimSpace(fs["name"].raw)))
	}
	if a.Kind == KindMiniProgram {
		a.DataFormat = FormatXML
	}
	tok := fs["token"]
	if tok.blank() {
		for _, k := range callbackFields {
			// One not of the kind is reported as such already.
			if f := fs[k]; f != nil && (k != "data_format" || a.Kind == KindMiniProgram) {
				p.errorf(f.key.Line, "%s is set but token is not: no callback is served without one", k)
			}
		}
	}
	if tok.set() {
		if validCallbackToken(tok.v) {
			a.Token = wechat.Secret(tok.v)
		} else {
			p.errorf(tok.val.Line, "token: %s", badCallbackToken(tok.v))
		}
	}
	key := fs["encoding_aes_key"]
	if key.set() {
		if _, err := wechat.DecodeAESKey(key.v); err != nil {
			p.errorf(key.val.Line, "encoding_aes_key: must be the 43-character base64 EncodingAESKey from the admin console (got %d characters; value not shown)", len(key.v))
		} else {
			a.EncodingAESKey = wechat.Secret(key.v)
		}
	} else if a.Kind == KindWeCom && tok.set() && key.blank() {
		p.errorf(tok.val.Line, "token: WeCom callbacks are always encrypted: set encoding_aes_key too")
	}
	if f := fs["callback_path"]; f.set() {
		a.CallbackPath, a.pathLine, a.pathShow = f.v, f.val.Line, p.show(f)
		switch {
		case !strings.HasPrefix(f.v, "/") || strings.ContainsAny(f.v, "?# :*"):
			p.errorf(f.val.Line, "callback_path: %s must be a path starting with \"/\" (e.g. /wechat/shop), without query, spaces, \":\" or \"*\"", p.show(f))
		case reservedPath(f.v):
			p.errorf(f.val.Line, "callback_path: %s collides with the server's own routes (/api/..., /cgi-bin/..., /admin..., /healthz, /metrics)", p.show(f))
		}
	}
	if f := fs["rules_file"]; f.set() {
		a.RulesFile = p.rulesFile(f)
	}
	if f := fs["data_format"]; f.set() && a.Kind == KindMiniProgram {
		switch d := DataFormat(strings.ToLower(f.v)); d {
		case FormatXML, FormatJSON:
			a.DataFormat = d
		default:
			p.errorf(f.val.Line, "data_format: %s is not one of xml, json", p.show(f))
		}
	}
}

// reservedPath reports paths the server serves itself.
func reservedPath(path string) bool {
	trimmed := strings.TrimRight(path, "/")
	for _, prefix := range []string{"/api", "/cgi-bin"} {
		if trimmed == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return strings.HasPrefix(path, "/admin") || trimmed == "/healthz" || trimmed == "/metrics"
}

// rulesFile resolves a relative rules_file against the accounts file's
// directory, where it is written, and checks that it is a file.
func (p *accountsParser) rulesFile(f *field) string {
	path := f.v
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	where := ""
	if path != f.v && !f.expanded {
		where = " (" + path + ")"
	}
	st, err := os.Stat(path)
	switch {
	case err != nil && os.IsNotExist(err):
		p.errorf(f.val.Line, "rules_file: %s%s does not exist (a relative path is relative to the accounts file)", p.show(f), where)
	case err != nil:
		p.errorf(f.val.Line, "rules_file: %s%s cannot be read", p.show(f), where)
	case st.IsDir():
		p.errorf(f.val.Line, "rules_file: %s%s is a directory", p.show(f), where)
	}
	return path
}
