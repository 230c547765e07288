package wechat

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldReader turns scanned nodes into typed values. The first problem is
// kept in *err, so building a message reads as a list of assignments. (err
// points outside the struct: returning a field of it would make the
// compiler move the caller's node buffer to the heap.)
type fieldReader struct {
	nodes []node
	idx   [numFields]int32 // node of each known top-level field; 0 (the root) = absent
	dup   uint64           // bit k set: field k appears more than once
	err   *error
	wecom bool // a WeCom push (see messageOf)
}

func (f *fieldReader) fail(err error) {
	if *f.err == nil {
		*f.err = err
	}
}

// leaf returns the text of node i ("" for i == 0); an element with
// children where text belongs is malformed.
func (f *fieldReader) leaf(i int32) string {
	if i == 0 {
		return ""
	}
	n := &f.nodes[i]
	if n.kids {
		f.fail(fmt.Errorf("%w: <%s> has child elements", ErrMalformedMessage, n.name))
		return ""
	}
	return n.val
}

// top returns the node of known top-level field k (0 if absent).
func (f *fieldReader) top(k int) int32 {
	if f.dup&(1<<k) != 0 {
		f.fail(fmt.Errorf("%w: repeated <%s>", ErrMalformedMessage, fieldTags[k]))
	}
	return f.idx[k]
}

func (f *fieldReader) str(k int) string    { return f.leaf(f.top(k)) }
func (f *fieldReader) int64(k int) int64   { return f.parseInt(f.top(k), 64) }
func (f *fieldReader) int(k int) int       { return int(f.parseInt(f.top(k), strconv.IntSize)) }
func (f *fieldReader) float(k int) float64 { return f.parseFloat(f.top(k)) }
func (f *fieldReader) notNumber(i int32) error {
	return fmt.Errorf("%w: <%s> is not a number", ErrMalformedMessage, f.nodes[i].name)
}

// parseInt and parseFloat read numbers the way encoding/xml does: empty is
// zero, surrounding space is trimmed.
func (f *fieldReader) parseInt(i int32, bits int) int64 {
	v := f.leaf(i)
	if v == "" {
		return 0
	}
	if n, ok := digits(v); ok && (bits == 64 || len(v) <= 9) {
		return n
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
	if err != nil {
		f.fail(f.notNumber(i))
	}
	return n
}

// digits is the fast path of parseInt for the common case, up to 18
// decimal digits (which cannot overflow an int64) and nothing else.
func digits(s string) (int64, bool) {
	if len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	return n, true
}

func (f *fieldReader) parseFloat(i int32) float64 {
	v := f.leaf(i)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		f.fail(f.notNumber(i))
	}
	return n
}

// each calls fn for every child of node parent (none when parent is 0).
func (f *fieldReader) each(parent int32, fn func(i int32, name string)) {
	if parent == 0 {
		return
	}
	for i := parent + 1; int(i) < len(f.nodes); i++ {
		if f.nodes[i].parent == parent {
			fn(i, f.nodes[i].name)
		}
	}
}

// once records node i in slot, rejecting a repeated field.
func (f *fieldReader) once(slot *int32, i int32) {
	if *slot != 0 {
		f.fail(fmt.Errorf("%w: repeated <%s>", ErrMalformedMessage, f.nodes[i].name))
	}
	*slot = i
}

func (f *fieldReader) scanCodeInfo() ScanCodeInfo {
	var typ, res int32
	f.each(f.top(fScanCodeInfo), func(i int32, name string) {
		switch name {
		case "ScanType":
			f.once(&typ, i)
		case "ScanResult":
			f.once(&res, i)
		}
	})
	return ScanCodeInfo{ScanType: f.leaf(typ), ScanResult: f.leaf(res)}
}

func (f *fieldReader) sendPicsInfo() SendPicsInfo {
	var count, list int32
	f.each(f.top(fSendPicsInfo), func(i int32, name string) {
		switch name {
		case "Count":
			f.once(&count, i)
		case "PicList":
			f.once(&list, i)
		}
	})
	info := SendPicsInfo{Count: int(f.parseInt(count, strconv.IntSize))}
	f.each(list, func(item int32, name string) {
		if name != "item" {
			return
		}
		var sum int32
		f.each(item, func(i int32, name string) {
			if name == "PicMd5Sum" {
				f.once(&sum, i)
			}
		})
		info.PicList = append(info.PicList, PicItem{PicMd5Sum: f.leaf(sum)})
	})
	return info
}

func (f *fieldReader) sendLocationInfo() SendLocationInfo {
	var x, y, scale, label, poi int32
	f.each(f.top(fSendLocationInfo), func(i int32, name string) {
		switch name {
		case "Location_X":
			f.once(&x, i)
		case "Location_Y":
			f.once(&y, i)
		case "Scale":
			f.once(&scale, i)
		case "Label":
			f.once(&label, i)
		case "Poiname":
			f.once(&poi, i)
		}
	})
	return SendLocationInfo{
		LocationX: f.parseFloat(x),
		LocationY: f.parseFloat(y),
		Scale:     int(f.parseInt(scale, strconv.IntSize)),
		Label:     f.leaf(label),
		Poiname:   f.leaf(poi),
	}
}
