package wechat

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeText decodes the content of a leaf: text runs with entities and
// CDATA sections, concatenated, with "\r\n" and a lone "\r" turned into
// "\n" as XML requires (encoding/xml does the same, per run).
func decodeText(raw string) (string, error) {
	var b strings.Builder
	b.Grow(len(raw))
	for len(raw) > 0 {
		if strings.HasPrefix(raw, "<![CDATA[") {
			k := strings.Index(raw[9:], "]]>")
			writeNormalized(&b, raw[9:9+k])
			raw = raw[9+k+3:]
			continue
		}
		j := strings.Index(raw, "<![CDATA[")
		if j < 0 {
			j = len(raw)
		}
		if err := decodeRun(&b, raw[:j]); err != nil {
			return "", err
		}
		raw = raw[j:]
	}
	return b.String(), nil
}

// decodeRun decodes one text run: entities, then line ends between them.
func decodeRun(b *strings.Builder, run string) error {
	for len(run) > 0 {
		amp := strings.IndexByte(run, '&')
		if amp < 0 {
			writeNormalized(b, run)
			return nil
		}
		writeNormalized(b, run[:amp])
		semi := strings.IndexByte(run[amp:], ';')
		if semi < 0 {
			return malformed(0, "unterminated entity")
		}
		r, ok := entityRune(run[amp+1 : amp+semi])
		if !ok {
			return malformed(0, "invalid entity &"+run[amp+1:amp+semi]+";")
		}
		b.WriteRune(r)
		run = run[amp+semi+1:]
	}
	return nil
}

func writeNormalized(b *strings.Builder, t string) {
	for len(t) > 0 {
		cr := strings.IndexByte(t, '\r')
		if cr < 0 {
			b.WriteString(t)
			return
		}
		b.WriteString(t[:cr])
		b.WriteByte('\n')
		t = t[cr+1:]
		if len(t) > 0 && t[0] == '\n' {
			t = t[1:]
		}
	}
}

// entityRune resolves the five predefined entities and character
// references; anything else (and characters XML forbids) is invalid.
func entityRune(e string) (rune, bool) {
	switch e {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(e) < 2 || e[0] != '#' {
		return 0, false
	}
	digits, base := e[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' || strings.IndexByte(digits, '_') >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	r := rune(n)
	if !utf8.ValidRune(r) || !xmlChar(r) {
		return 0, false
	}
	return r, true
}

// xmlChar reports whether r is in XML's Char production.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
