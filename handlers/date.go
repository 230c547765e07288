package handlers

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateHeader is the Date header of the callbacks' answers, formatted once
// a second: net/http formats it for every response (a clock read and a
// time.Format, a tenth of the callback's own cost under load), and skips
// that when the handler has set it.
type dateHeader struct {
	cur atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	v   []string // shared by every response of that second; never modified
}

// at returns the header value for t's second.
func (d *dateHeader) at(t time.Time) []string {
	sec := t.Unix()
	if cur := d.cur.Load(); cur != nil && cur.sec == sec {
		return cur.v
	}
	v := &dateValue{sec: sec, v: []string{t.UTC().Format(http.TimeFormat)}}
	d.cur.Store(v)
	return v.v
}
