package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maskShown is how much of a token the page shows: enough to tell two
// tokens apart in logs and on screen, far too little to use one.
const maskShown = 6

// mask shows a token's first characters and its length. A short value (no
// real access_token is) shows none of itself.
func mask(v string) string {
	if v == "" {
		return "(none)"
	}
	if len(v) < 4*maskShown {
		return fmt.Sprintf("…(%d chars)", len(v))
	}
	return fmt.Sprintf("%s…(%d chars)", v[:maskShown], len(v))
}

// fmtTime prints an instant in UTC, the zone the fleet's logs use.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// relative says how far t is from now, "in 1h 52m" or "3m 05s ago".
func relative(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	switch {
	case d >= time.Second:
		return "in " + span(d)
	case d <= -time.Second:
		return span(-d) + " ago"
	}
	return "now"
}

func span(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case h >= 48:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// fetches shows today's fetches against the daily limit, warning from 80%
// on, where the token manager starts to log warnings too.
func fetches(n, limit int64) (string, string) {
	if limit <= 0 {
		return strconv.FormatInt(n, 10), "ok"
	}
	kind := "ok"
	switch {
	case n >= limit:
		kind = "bad"
	case n*5 >= limit*4:
		kind = "warn"
	}
	return fmt.Sprintf("%d / %d", n, limit), kind
}

// trafficView is the recent-traffic table.
type trafficView struct {
	Rows   []trafficRow
	Total  uint64 // callbacks recorded since start
	Failed int    // rows with a status other than 2xx
}

type trafficRow struct {
	Account, Time, Ago, Type, Event string
	Status, StatusKind, Lat         string
}

func trafficState(t *Traffic, now time.Time) trafficView {
	recent, total := t.snapshot()
	v := trafficView{Total: total, Rows: make([]trafficRow, len(recent))}
	for i, e := range recent {
		kind := "ok"
		if e.Status < 200 || e.Status > 299 {
			kind = "bad"
			v.Failed++
		}
		typ := e.Type
		if typ == "" {
			typ = "—"
		}
		v.Rows[i] = trafficRow{
			Account: e.Account, Time: e.Time.Format("15:04:05.000"), Ago: relative(now, e.Time),
			Type: typ, Event: e.Event,
			Status: strconv.Itoa(e.Status) + " " + http.StatusText(e.Status), StatusKind: kind,
			Lat: latency(e.Latency),
		}
	}
	return v
}

// latency prints d in the unit that keeps it readable: a reply from a rule
// takes microseconds, a forward seconds.
func latency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
