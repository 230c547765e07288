package admin

import (
	"sync"
	"time"
)

// TrafficSize is how many callbacks Traffic keeps: enough to see what the
// server did in the last minutes, small enough to render on every page load.
const TrafficSize = 100

// typeLen bounds the stored message type and event name. WeChat's longest
// names (subscribe_msg_popup_event, user_authorize_invoice, ...) fit; a
// longer one is cut rather than allocated.
const typeLen = 32

// Entry is one callback as the admin page shows it. It deliberately has no
// field for the message's content, its openids or its MsgId: the page is an
// operator's view of traffic, not of users.
type Entry struct {
	Account string        // the account's name
	Time    time.Time     // when the callback arrived
	Type    string        // MsgType ("text", "event", ...); "" when the request was refused before parsing
	Event   string        // Event for MsgType "event" ("subscribe", "CLICK", ...), else ""
	Status  int           // the HTTP status answered to WeChat
	Latency time.Duration // time to answer
}

// slot is an Entry stored without pointers: the names are copied into fixed
// arrays, so Record neither allocates nor keeps the request body (whose
// bytes a parsed MsgType may share) alive until the slot is overwritten.
type slot struct {
	at      int64 // UnixNano
	latency time.Duration
	status  int32
	typeN   uint8
	eventN  uint8
	acctN   uint8
	typ     [typeLen]byte
	event   [typeLen]byte
	acct    [acctLen]byte
}

// acctLen bounds the stored account name: names are at most 64 characters.
const acctLen = 64

// Traffic remembers the last TrafficSize callbacks for the admin page. The
// zero value is ready to use; it is safe for concurrent use, and Record is
// cheap enough for the callback hot path (one uncontended lock, no
// allocation).
type Traffic struct {
	mu    sync.Mutex
	total uint64 // entries ever recorded; the next one goes to ring[total%TrafficSize]
	ring  [TrafficSize]slot
}

// Record adds e, replacing the oldest entry once the ring is full.
func (t *Traffic) Record(e Entry) {
	at := e.Time.UnixNano()
	t.mu.Lock()
	s := &t.ring[t.total%TrafficSize] // in place: a few dozen bytes copied once
	t.total++
	s.at, s.latency, s.status = at, e.Latency, int32(e.Status)
	s.typeN = uint8(copy(s.typ[:], e.Type))
	s.eventN = uint8(copy(s.event[:], e.Event))
	s.acctN = uint8(copy(s.acct[:], e.Account))
	t.mu.Unlock()
}

// snapshot returns the entries held, newest first, with times in UTC, and
// how many were ever recorded (so the page can say how many fell out of
// the ring), as of one instant.
func (t *Traffic) snapshot() ([]Entry, uint64) {
	var buf [TrafficSize]slot
	t.mu.Lock()
	total := t.total
	n := int(min(total, TrafficSize))
	for i := range n {
		buf[i] = t.ring[(total-1-uint64(i))%TrafficSize]
	}
	t.mu.Unlock()
	out := make([]Entry, n)
	for i := range n {
		s := &buf[i]
		out[i] = Entry{
			Account: string(s.acct[:s.acctN]),
			Time:    time.Unix(0, s.at).UTC(),
			Type:    string(s.typ[:s.typeN]),
			Event:   string(s.event[:s.eventN]),
			Status:  int(s.status),
			Latency: s.latency,
		}
	}
	return out, total
}
