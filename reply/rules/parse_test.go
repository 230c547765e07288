package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rule1 is a valid first rule, so that broken ones start on line 4.
const rule1 = "rules:\n  - keyword: ok\n    reply: success\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty file", "", 1, "file is empty"},
		{"comment only", "# nothing\n", 1, "file is empty"},
		// yaml.v3 names the line where the broken list or mapping starts.
		{"unclosed bracket", "rules:\n  - keyword: [a\n", 2, "bad YAML at or below this line: did not find expected ',' or ']'"},
		{"unclosed bracket on line 1", "rules: [a\n", 2, "bad YAML at or below this line"},
		{"bad indentation", "rules:\n  - keyword: a\n   reply: success\n", 2, "bad YAML at or below this line"},
		{"list item in mapping", "default:\n  - a\n  reply: success\n", 2, "bad YAML at or below this line"},
		{"unclosed quote", "rules:\n  - keyword: 'a\n", 2, "bad YAML: found unexpected end of stream"},
		{"tab indentation", "rules:\n\t- keyword: a\n", 2, "bad YAML"},
		{"top level list", "- keyword: a\n", 1, "top level: want a mapping"},
		{"unknown top key", "rule:\n  - keyword: a\n", 1, `unknown key "rule"`},
		{"empty mapping", "{}\n", 1, "nothing would ever be answered"},
		{"rules not a list", "rules: hello\n", 1, "rules: want a list"},
		{"rule not a mapping", rule1 + "  - hello\n", 4, "rule: want a mapping"},
		{"unknown rule key", rule1 + "  - keywords: a\n    reply: success\n", 4, `unknown key "keywords"`},
		{"repeated key", rule1 + "  - keyword: a\n    keyword: b\n    reply: success\n", 5, `key "keyword" repeated (first on line 4)`},
		{"no matcher", rule1 + "  - name: x\n    reply: success\n", 4, `rule "x" has no matcher`},
		{"two matchers", rule1 + "  - keyword: a\n    prefix: b\n    reply: success\n", 5, "two matchers, keyword (line 4) and prefix"},
		{"missing reply", rule1 + "  - name: lonely\n    keyword: a\n", 4, `rule "lonely" has no reply`},
		{"two actions", rule1 + "  - keyword: a\n    reply: success\n    forward: {url: 'http://h/x'}\n", 6, "two actions, reply (line 5) and forward"},
		{"duplicate name", rule1 + "  - name: a\n    keyword: a\n    reply: success\n  - name: a\n    keyword: b\n    reply: success\n", 7, `rule name "a" used twice (first on line 4)`},
		{"empty keyword", rule1 + "  - keyword: '  '\n    reply: success\n", 4, "keyword: is empty"},
		{"empty keyword list", rule1 + "  - keyword: []\n    reply: success\n", 4, "keyword: empty list"},
		{"keyword mapping", rule1 + "  - keyword: {a: b}\n    reply: success\n", 4, "keyword: want a string, got a mapping"},
		{"keyword null", rule1 + "  - keyword:\n    reply: success\n", 4, "keyword: want a string, got nothing"},
		{"bad regex", rule1 + "  - regex: '^(a'\n    reply: success\n", 4, "regex: bad regular expression: missing closing )"},
		{"unknown msg_type", rule1 + "  - msg_type: sticker\n    reply: success\n", 4, `unknown message type "sticker"`},
		{"msg_type event", rule1 + "  - msg_type: event\n    reply: success\n", 4, "use event:"},
		{"unknown event", rule1 + "  - event: follow\n    reply: success\n", 4, `unknown event "follow"`},
		{"key without event", rule1 + "  - keyword: a\n    key: HELP\n    reply: success\n", 5, "key: only goes with event:"},
		{"key on subscribe", rule1 + "  - event: subscribe\n    key: x\n    reply: success\n", 5, "for QR-code scenes use scene:"},
		{"key on LOCATION", rule1 + "  - event: LOCATION\n    key: x\n    reply: success\n", 5, "LOCATION events carry no menu key"},
		{"key and key_prefix", rule1 + "  - event: CLICK\n    key: a\n    key_prefix: b\n    reply: success\n", 6, "key: (line 5) or key_prefix:, not both"},
		{"scene on CLICK", rule1 + "  - event: CLICK\n    scene: x\n    reply: success\n", 5, "scene: only goes with event: subscribe or event: SCAN"},
		{"reply to unsubscribe", rule1 + "  - event: unsubscribe\n    reply: {type: text, content: bye}\n", 5, "WeChat shows no reply to unsubscribe"},
		{"reply scalar", rule1 + "  - keyword: a\n    reply: hello\n", 5, `reply: want success or a mapping`},
		{"reply list", rule1 + "  - keyword: a\n    reply: [a]\n", 5, "reply: want a mapping"},
		{"reply without type", rule1 + "  - keyword: a\n    reply: {content: x}\n", 5, "reply: type: is missing"},
		{"unknown reply type", rule1 + "  - keyword: a\n    reply: {type: sticker}\n", 5, `reply: unknown type "sticker"`},
		{"unknown reply field", rule1 + "  - keyword: a\n    reply:\n      type: text\n      contents: x\n", 7, `unknown key "contents"`},
		{"field of another type", rule1 + "  - keyword: a\n    reply:\n      type: image\n      content: x\n", 7, "reply: type image takes media_id, not content"},
		{"text without content", rule1 + "  - keyword: a\n    reply:\n      type: text\n", 6, "reply: content: is missing"},
		{"text with empty content", rule1 + "  - keyword: a\n    reply:\n      type: text\n      content: ''\n", 7, "reply: content: is empty"},
		{"image without media_id", rule1 + "  - keyword: a\n    reply: {type: image}\n", 5, "media_id: is missing"},
		{"music without thumb", rule1 + "  - keyword: a\n    reply: {type: music, title: t}\n", 5, "thumb_media_id: is missing"},
		{"music bad url", rule1 + "  - keyword: a\n    reply:\n      type: music\n      thumb_media_id: t\n      music_url: ftp://x/a.mp3\n", 8, "music_url:"},
		{"bad template", rule1 + "  - keyword: a\n    reply:\n      type: text\n      content: '{{.Content'\n", 7, "content: bad template"},
		{"unknown template field", rule1 + "  - keyword: a\n    reply:\n      type: text\n      content: '{{.Fromusername}}'\n", 7, "unknown template field .Fromusername"},
		{"unknown $ field in range", rule1 + "  - keyword: a\n    reply:\n      type: text\n      content: '{{range .Match}}{{$.Nope}}{{end}}'\n", 7, "unknown template field .Nope"},
		{"news without articles", rule1 + "  - keyword: a\n    reply: {type: news}\n", 5, "needs articles:"},
		{"news with 0 articles", rule1 + "  - event: CLICK\n    reply: {type: news, articles: []}\n", 5, "empty list; a news reply needs 1 to 8"},
		{"news with 9 articles", rule1 + "  - event: CLICK\n    reply:\n      type: news\n      articles:\n" + strings.Repeat("        - {title: t, url: 'https://a/'}\n", 9), 8, "9 articles; WeChat allows at most 8"},
		{"news with 2 articles for a message", rule1 + "  - keyword: a\n    reply:\n      type: news\n      articles:\n" + strings.Repeat("        - {title: t, url: 'https://a/'}\n", 2), 8, "a reply to a user message may carry only 1"},
		{"news with 2 articles in default", "default:\n  reply:\n    type: news\n    articles:\n" + strings.Repeat("      - {title: t, url: 'https://a/'}\n", 2), 5, "may carry only 1"},
		{"article not a mapping", rule1 + "  - event: CLICK\n    reply:\n      type: news\n      articles:\n        - hello\n", 8, "article: want a mapping"},
		{"article without url", rule1 + "  - event: CLICK\n    reply:\n      type: news\n      articles:\n        - title: t\n", 8, "article: url: is missing"},
		{"article bad pic_url", rule1 + "  - event: CLICK\n    reply:\n      type: news\n      articles:\n        - title: t\n          url: https://a/\n          pic_url: /local.png\n", 10, "pic_url:"},
		{"article unknown key", rule1 + "  - event: CLICK\n    reply:\n      type: news\n      articles:\n        - {title: t, url: 'https://a/', picurl: x}\n", 8, `unknown key "picurl"`},
		{"forward scalar", rule1 + "  - keyword: a\n    forward: http://h/x\n", 5, "forward: want a mapping"},
		{"forward relative url", rule1 + "  - keyword: a\n    forward:\n      url: /reply\n", 6, "not an absolute http:// or https:// URL"},
		{"forward bad scheme", rule1 + "  - keyword: a\n    forward:\n      url: ftp://h/x\n", 6, "not an absolute http:// or https:// URL"},
		{"forward bad timeout", rule1 + "  - keyword: a\n    forward:\n      url: http://h/x\n      timeout: 3\n", 7, `timeout: "3" is not a duration`},
		{"forward zero timeout", rule1 + "  - keyword: a\n    forward:\n      url: http://h/x\n      timeout: 0s\n", 7, "out of range"},
		{"forward long timeout", rule1 + "  - keyword: a\n    forward:\n      url: http://h/x\n      timeout: 1m\n", 7, "out of range"},
		{"default scalar", "default: hello\n", 1, "default: want a mapping"},
		{"default empty", "default: {}\n", 1, "default: want reply: or forward:"},
		{"default two actions", "default:\n  reply: success\n  forward: {url: 'http://h/x'}\n", 3, "default has two actions"},
		{"default unknown key", "default:\n  keyword: a\n", 2, `unknown key "keyword"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse("test.yaml", []byte(tt.src))
			if e != nil || !hasError(err, "test.yaml", tt.line, tt.want) {
				t.Errorf("Parse(%q) = %v, %v; want an error at test.yaml:%d containing %q", tt.src, e, err, tt.line, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%q) error %T; want it to wrap an *Error", tt.src, err)
			}
		})
	}
}

// hasError reports whether one of the joined errors reads file:line: ...want...
func hasError(err error, file string, line int, want string) bool {
	if err == nil {
		return false
	}
	prefix := (&Error{File: file, Line: line}).Error()
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// TestParseReportsAll: an admin fixing a file sees every problem at once, in
// line order.
func TestParseReportsAll(t *testing.T) {
	src := `rules:
  - keyword: a
    reply: {type: txt}
  - regex: '('
    reply: success
  - event: click
    key: A
    reply: {type: news, articles: []}
default:
  reply: {type: text, content: "{{.Nope}}"}
`
	_, err := Parse("many.yaml", []byte(src))
	want := []string{"many.yaml:3:", "many.yaml:4:", "many.yaml:8:", "many.yaml:10:"}
	var got []string
	if err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			got = append(got, l[:strings.Index(l, ": ")+1])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Parse(many) error lines = %q; want %q (full error: %v)", got, want, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(good, []byte("rules:\n  - keyword: hi\n    reply: {type: text, content: from disk}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - keyword: hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	e, err := Load(good)
	if err != nil {
		t.Fatalf("Load(%q) = %v", good, err)
	}
	if r, _ := e.Match(textMsg("hi")); describe(r) != "line 2 text from disk" {
		t.Errorf("Load(%q).Match(hi) = %q; want the rule from disk", good, describe(r))
	}
	if _, err := Load(bad); !hasError(err, bad, 2, "has no reply") {
		t.Errorf("Load(%q) = %v; want %s:2: ... has no reply", bad, err, bad)
	}
	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(%q) = %v; want an error wrapping os.ErrNotExist", missing, err)
	}
}

// What stands where a rules file should is refused at once: no hang on a
// FIFO, no memory filled by /dev/zero or a runaway file.
func TestReadFileRefusesWhatIsNotARulesFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 1<<30); err != nil { // sparse
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{fifo, "not a regular file"},
		{zero, "not a regular file"},
		{huge, "larger than"},
		{dir, "not a regular file"},
	} {
		done := make(chan error, 1)
		go func() { _, _, err := ReadFile(tt.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadFile(%s) = %v; want %q", tt.path, err, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadFile(%s) still blocked after 10 s", tt.path)
		}
	}
}
