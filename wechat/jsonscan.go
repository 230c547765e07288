package wechat

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict scanner for the JSON a Mini Program pushes when its console sets
// the data format (数据格式) to JSON. It produces the nodes scanXML produces
// for the same push in XML, so one field reader serves both formats:
//
//   - the top-level object is the root <xml>, a member named K is <K>;
//   - an object value is an element with children (an empty one is an
//     empty element, as <K/> is);
//   - an array is its member repeated, the way the XML form repeats an
//     element (an array directly inside an array has no XML form and is
//     refused);
//   - a string is the element's text; a number keeps its literal, so
//     CreateTime and MsgId parse exactly as from XML (a MsgId beyond 2^53
//     stays exact), and a number sent as a string reads the same; true and
//     false are their names, null is empty.
//
// The bounds are the XML scanner's, maxElements values and maxDepth levels
// below the root, so a body costs the same at most in either format. It
// accepts RFC 8259 JSON only: no comments, no trailing commas, no bare
// words. Values are substrings of s when no escape needs decoding.

// scanJSON appends the values of the JSON object s to dst, root first, each
// after its parent.
func scanJSON(s string, dst []node) ([]node, error) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return dst, malformed(i, "not a JSON object")
	}
	dst = addNode(dst, node{name: "xml", parent: -1})
	i, dst, err := scanObject(s, i, dst, 0, 0)
	if err != nil {
		return dst, err
	}
	if i = skipSpace(s, i); i != len(s) {
		return dst, malformed(i, "data after the object")
	}
	return dst, nil
}

// scanObject scans the object at s[i] == '{', the value of dst[idx] at
// depth, and returns the position after its '}'. (It recurses into itself
// alone: a pair of mutually recursive functions would make the compiler
// move the caller's node buffer to the heap.)
func scanObject(s string, i int, dst []node, idx int32, depth int) (int, []node, error) {
	first := int32(len(dst))
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, dst, nil
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return i, dst, malformed(i, "want a member name")
		}
		name, j, err := scanString(s, i)
		if err != nil {
			return j, dst, err
		}
		i = skipSpace(s, j)
		if i >= len(s) || s[i] != ':' {
			return i, dst, malformed(i, "want ':' after a member name")
		}
		i = skipSpace(s, i+1)
		// An array is its member repeated: one value, or each element.
		array := i < len(s) && s[i] == '['
		if array {
			i = skipSpace(s, i+1)
		}
		// more: a ',' was read, so a value must follow, not the ']'.
		more := false
		for !array || more || i >= len(s) || s[i] != ']' {
			more = false
			switch {
			case i >= len(s):
				return i, dst, malformed(i, "unexpected end of input")
			case s[i] == '[':
				return i, dst, malformed(i, "array inside an array")
			case depth >= maxDepth:
				return i, dst, malformed(i, "values nested too deep")
			case len(dst) >= maxElements:
				return i, dst, malformed(i, "too many values")
			}
			n := node{name: name, parent: idx}
			if s[i] == '{' {
				child := int32(len(dst))
				if i, dst, err = scanObject(s, i, addNode(dst, n), child, depth+1); err != nil {
					return i, dst, err
				}
			} else {
				if n.val, i, err = scanScalar(s, i); err != nil {
					return i, dst, err
				}
				dst = addNode(dst, n)
			}
			if !array {
				break
			}
			i = skipSpace(s, i)
			if i < len(s) && s[i] == ',' {
				i = skipSpace(s, i+1)
				more = true
			} else if i >= len(s) || s[i] != ']' {
				return i, dst, malformed(i, "want ',' or ']' in an array")
			}
		}
		if array {
			i++ // the ']'
		}
		i = skipSpace(s, i)
		if i < len(s) && s[i] == ',' {
			i = skipSpace(s, i+1)
			continue
		}
		if i < len(s) && s[i] == '}' {
			dst[idx].kids = int32(len(dst)) > first
			return i + 1, dst, nil
		}
		return i, dst, malformed(i, "want ',' or '}' in an object")
	}
}

// scanScalar scans the string, number or literal at s[i] and returns its
// text and the position after it.
func scanScalar(s string, i int) (string, int, error) {
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '-' || '0' <= c && c <= '9':
		end, err := scanNumber(s, i)
		return s[i:end], end, err
	case strings.HasPrefix(s[i:], "true"):
		return "true", i + 4, nil
	case strings.HasPrefix(s[i:], "false"):
		return "false", i + 5, nil
	case strings.HasPrefix(s[i:], "null"):
		return "", i + 4, nil
	}
	return "", i, malformed(i, "want a value")
}

// scanString scans the string at s[i] == '"' and returns its value and the
// position after it.
func scanString(s string, i int) (string, int, error) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, nil
		case c == '\\':
			return decodeString(s, i)
		case c < 0x20:
			return "", j, malformed(j, "control character in a string")
		}
	}
	return "", len(s), malformed(len(s), "unterminated string")
}

// decodeString is scanString for a string with escapes. Like encoding/json
// it turns an unpaired surrogate into U+FFFD and keeps other bytes as sent.
func decodeString(s string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1, nil
		case c < 0x20:
			return "", j, malformed(j, "control character in a string")
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(s) {
			break
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, j+2)
			if !ok {
				return "", j, malformed(j, `bad \u escape`)
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if strings.HasPrefix(s[j:], `\u`) {
					if r2, ok := hex4(s, j+2); ok {
						if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
							b.WriteRune(p)
							j += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
			continue
		default:
			return "", j, malformed(j, "bad escape in a string")
		}
		j += 2
	}
	return "", len(s), malformed(len(s), "unterminated string")
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber returns the end of the number at s[i], which is '-' or a
// digit: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(s string, i int) (int, error) {
	j := i
	if s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && '1' <= s[j] && s[j] <= '9':
		j = digitsEnd(s, j)
	default:
		return j, malformed(j, "bad number")
	}
	if j < len(s) && s[j] == '.' {
		k := digitsEnd(s, j+1)
		if k == j+1 {
			return k, malformed(k, "bad number")
		}
		j = k
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := digitsEnd(s, j)
		if k == j {
			return k, malformed(k, "bad number")
		}
		j = k
	}
	return j, nil
}

func digitsEnd(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
