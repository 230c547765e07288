package wechat

import (
	"errors"
	"fmt"
	"strings"
)

// A small, strict scanner for the XML WeChat pushes: an optional <?xml?>
// prolog, a root <xml>, and child elements holding text, CDATA sections or
// (for a few containers) more elements. encoding/xml costs tens of
// microseconds and dozens of allocations per message, more than the rest of
// the callback path together; this costs one allocation (the copy of the
// body the values point into) for a message without entities.
//
// Everything outside that shape (attributes, comments, DOCTYPE, namespaces,
// mixed text and elements, trailing data) is rejected rather than guessed at.

// ErrMalformedMessage is returned for a body that is not a WeChat message.
var ErrMalformedMessage = errors.New("wechat: malformed message XML")

const (
	maxElements = 200 // elements in a body, root included
	maxDepth    = 4   // levels below the root (SendPicsInfo/PicList/item/PicMd5Sum)
)

// node is one element. A leaf has val; an element with children has kids.
type node struct {
	name   string
	val    string
	parent int32
	kids   bool
}

func malformed(off int, reason string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrMalformedMessage, reason, off)
}

// scanXML appends the elements of s to dst, root first, each after its
// parent. Values are substrings of s when no decoding was needed.
func scanXML(s string, dst []node) ([]node, error) {
	i := skipSpace(s, 0)
	if strings.HasPrefix(s[i:], "<?xml") {
		j := strings.Index(s[i+5:], "?>")
		if j < 0 {
			return dst, malformed(i, "unterminated prolog")
		}
		i = skipSpace(s, i+5+j+2)
	}
	if i >= len(s) || s[i] != '<' {
		return dst, malformed(i, "no root element")
	}
	end := scanName(s, i+1)
	if s[i+1:end] != "xml" {
		return dst, malformed(i, "root element is not <xml>")
	}
	dst = addNode(dst, node{name: "xml", parent: -1})
	i, dst, err := scanElement(s, end, dst, 0, 0)
	if err != nil {
		return dst, err
	}
	if i = skipSpace(s, i); i != len(s) {
		return dst, malformed(i, "data after the root element")
	}
	return dst, nil
}

// scanElement scans the element dst[idx] from just after its name in the
// start tag to just after its end tag, and returns that position.
func scanElement(s string, i int, dst []node, idx int32, depth int) (int, []node, error) {
	name := dst[idx].name
	i = skipSpace(s, i)
	if i+1 < len(s) && s[i] == '/' && s[i+1] == '>' {
		return i + 2, dst, nil
	}
	if i >= len(s) || s[i] != '>' {
		return i, dst, malformed(i, "bad start tag (attributes are not supported)")
	}
	i++
	start := i
	var (
		chunks         int    // text runs and CDATA sections seen
		lo, hi         int    // bounds of the last one
		plain          = true // the value needs no decoding if it is one chunk
		onlySpace      = true // no CDATA and no non-space text so far
		kids, endFound bool
		endTag         int
	)
	for !endFound {
		j := i
		for j < len(s) && s[j] != '<' {
			switch c := s[j]; c {
			case '&':
				plain = false
				onlySpace = false
			case '\r':
				plain = false
			case ' ', '\t', '\n':
			case '>':
				if j >= i+2 && s[j-1] == ']' && s[j-2] == ']' {
					return j, dst, malformed(j, "]]> outside CDATA")
				}
				onlySpace = false
			default:
				onlySpace = false
			}
			j++
		}
		if j > i {
			if kids && !onlySpace {
				return i, dst, malformed(i, "text among child elements")
			}
			chunks++
			lo, hi = i, j
		}
		if j >= len(s) {
			return j, dst, malformed(j, "unexpected end of input in <"+name+">")
		}
		i = j
		switch {
		case strings.HasPrefix(s[i:], "<![CDATA["):
			if kids {
				return i, dst, malformed(i, "CDATA among child elements")
			}
			k := strings.Index(s[i+9:], "]]>")
			if k < 0 {
				return i, dst, malformed(i, "unterminated CDATA section")
			}
			chunks++
			lo, hi = i+9, i+9+k
			if strings.IndexByte(s[lo:hi], '\r') >= 0 {
				plain = false
			}
			onlySpace = false
			i = hi + 3
		case i+1 < len(s) && s[i+1] == '/':
			endTag = i
			i += 2
			if !strings.HasPrefix(s[i:], name) {
				return i, dst, malformed(i, "end tag does not match <"+name+">")
			}
			i = skipSpace(s, i+len(name))
			if i >= len(s) || s[i] != '>' {
				return i, dst, malformed(i, "end tag does not match <"+name+">")
			}
			i++
			endFound = true
		default:
			if !onlySpace {
				return i, dst, malformed(i, "text among child elements")
			}
			if depth >= maxDepth {
				return i, dst, malformed(i, "elements nested too deep")
			}
			if len(dst) >= maxElements {
				return i, dst, malformed(i, "too many elements")
			}
			end := scanName(s, i+1)
			if end == i+1 {
				return i, dst, malformed(i, "bad tag")
			}
			kids = true
			child := int32(len(dst))
			dst = addNode(dst, node{name: s[i+1 : end], parent: idx})
			var err error
			if i, dst, err = scanElement(s, end, dst, child, depth+1); err != nil {
				return i, dst, err
			}
		}
	}
	switch {
	case kids:
		dst[idx].kids = true
	case chunks == 1 && plain:
		dst[idx].val = s[lo:hi]
	case chunks > 0:
		v, err := decodeText(s[start:endTag])
		if err != nil {
			return start, dst, err
		}
		dst[idx].val = v
	}
	return i, dst, nil
}

// addNode appends n. It grows dst by hand: append would make the
// compiler move the caller's stack buffer to the heap.
func addNode(dst []node, n node) []node {
	if len(dst) == cap(dst) {
		grown := make([]node, len(dst), 2*cap(dst)+8)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:len(dst)+1]
	dst[len(dst)-1] = n
	return dst
}

// scanName returns the end of the element name starting at i (i itself when
// there is none). Names are ASCII letters, digits, '_', '-', '.'; no
// namespaces.
func scanName(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' ||
			j > i && ('0' <= c && c <= '9' || c == '-' || c == '.') {
			j++
			continue
		}
		break
	}
	return j
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
