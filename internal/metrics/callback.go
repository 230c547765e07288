package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"wxoa/wechat"
)

func (m *Metrics) initCallbacks() {
	// wxoa_callbacks_total is the traffic WeChat pushes: a drop to zero
	// while users are active means the callback URL or token is broken at
	// the WeChat end; a mode other than the configured one means the
	// console setting changed.
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "callbacks_total",
		Help: "Callback messages accepted, by MsgType (event:<Event> for events) and mode (plain, compat, safe).",
	}, []string{"type", "mode"})
	// wxoa_callback_rejections_total: bad_signature or decrypt after a
	// deploy means a wrong WECHAT_TOKEN or AES key; a steady trickle of
	// bad_signature is someone probing the URL; stale_timestamp is a
	// replay or a clock off.
	rejections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "callback_rejections_total",
		Help: "Callback requests refused before a reply, by reason.",
	}, []string{"reason"})
	// wxoa_replies_total: what users get. A rising share of "success"
	// means rules fall through or forwards miss the deadline.
	replies := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "replies_total",
		Help: "Passive replies answered, by kind (success: acknowledged without a reply).",
	}, []string{"kind"})
	// wxoa_dedup_hits_total: WeChat retries a message it got no answer to
	// within 5 s; many hits mean replies are slow.
	m.dedupHits = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "dedup", Name: "hits_total",
		Help: "Retried callbacks answered with the reply stored for the first delivery.",
	})
	m.reg.MustRegister(m.callbacks, rejections, replies, m.dedupHits)
	// Fixed small sets, created up front: a rate over them exists from
	// the first scrape, so alerts see 0 rather than no data.
	for i, r := range reasonLabels {
		m.rejections[i] = rejections.WithLabelValues(r)
	}
	for i, k := range kindLabels {
		m.replies[i] = replies.WithLabelValues(k)
	}
}

// CallbackMessage is Callback with the type read from msg (TypeOf), for
// callers holding the parsed message: it allocates nothing.
func (m *Metrics) CallbackMessage(msg wechat.Message, mode string) {
	if m == nil {
		return
	}
	m.Callback(TypeOf(msg), mode)
}

// Callback records an accepted callback message: msgType is TypeOf(msg)
// ("text", "event:CLICK", ...), mode is ModePlain, ModeCompat or ModeSafe.
func (m *Metrics) Callback(msgType, mode string) {
	if m == nil {
		return
	}
	ti, mi := typeIndexOf(msgType), find(modeLabels[:], mode)
	m.cbSlots[ti*numModes+mi].get(func() prometheus.Counter {
		return m.callbacks.WithLabelValues(typeLabels[ti], modeLabels[mi])
	}).Inc()
}

// CallbackRejected records a callback refused before a reply, with one of
// the Reject* reasons.
func (m *Metrics) CallbackRejected(reason string) {
	if m == nil {
		return
	}
	m.rejections[find(reasonLabels[:], reason)].Inc()
}

// Reply records a passive reply of one of the Kind* kinds (ReplyKind).
func (m *Metrics) Reply(kind string) {
	if m == nil {
		return
	}
	m.replies[find(kindLabels[:], kind)].Inc()
}

// DedupHit records a retry answered with the reply stored for the first
// delivery.
func (m *Metrics) DedupHit() {
	if m == nil {
		return
	}
	m.dedupHits.Inc()
}
