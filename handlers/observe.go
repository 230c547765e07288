package handlers

import (
	"time"

	"wxoa/handlers/admin"
	"wxoa/wechat"
)

// Observer counts what the HTTP surface sees, for /metrics
// (*metrics.Metrics). Its methods run on every request and must be cheap;
// their label values come from small fixed sets.
type Observer interface {
	// Request is one answered request: the route pattern (never the raw
	// path), method, status and latency.
	Request(route, method string, status int, d time.Duration)
	// CallbackMessage is one accepted push: the message and the mode it
	// came in (metrics.ModePlain, ModeCompat, ModeSafe).
	CallbackMessage(msg wechat.Message, mode string)
	// CallbackRejected is one refused push, by reason: a metrics.Reject*
	// constant, or metrics.Other. The labels are metrics' so that /metrics
	// and the log name a refusal alike and cannot drift apart.
	CallbackRejected(reason string)
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
