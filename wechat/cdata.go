package wechat

import "strings"

// AppendCDATAElem appends <tag><![CDATA[v]]></tag>. It is the one CDATA
// writer: replies, envelopes and (in wechattest) pushes all go through it,
// so user text containing "]]>" is escaped the same way everywhere.
func AppendCDATAElem(b []byte, tag, v string) []byte {
	b = append(b, '<')
	b = append(b, tag...)
	b = append(b, '>')
	b = appendCDATA(b, v)
	b = append(b, "</"...)
	b = append(b, tag...)
	return append(b, '>')
}

// appendCDATA appends v as CDATA. A CDATA section cannot contain "]]>", so
// each one is split across two sections: "]]" ends the first, ">" starts
// the next.
func appendCDATA(b []byte, v string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(v, "]]>")
		if i < 0 {
			break
		}
		b = append(b, v[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		v = v[i+2:]
	}
	b = append(b, v...)
	return append(b, "]]>"...)
}
