package handlers

import (
	"context"
	"time"

	"wxoa/handlers/admin"
	"wxoa/wechat"
)

// Observer counts the requests the HTTP surface answers, for /metrics
// (*metrics.Metrics). Request runs on every request and must be cheap.
// The callbacks of each account are counted by its CallbackObserver.
type Observer interface {
	// Request is one answered request: the route pattern (never the raw
	// path; CallbackRoute for every callback), method, status and latency.
	Request(route, method string, status int, d time.Duration)
}

// AccessLog writes the access log: one line per request, with method, path
// (never the query), status and latency (*accesslog.Logger).
type AccessLog interface {
	Request(ctx context.Context, end time.Time, method, path string, status int, latency time.Duration)
}

// Traffic keeps the recent callbacks the admin page shows (*admin.Traffic):
// type, time, status, latency — never content or openids.
type Traffic interface {
	Record(admin.Entry)
}

type nopObserver struct{}

func (nopObserver) Request(string, string, int, time.Duration) {}
func (nopObserver) CallbackMessage(wechat.Message, string)     {}
func (nopObserver) CallbackRejected(string)                    {}

type nopTraffic struct{}

func (nopTraffic) Record(admin.Entry) {}
