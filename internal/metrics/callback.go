package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"wxoa/wechat"
)

// AccountLabel is the label naming the account a series belongs to. Its
// values are the configured accounts' names, so it is bounded by the
// accounts file; a removed account's series are deleted (ForgetAccount).
const AccountLabel = "account"

func (m *Metrics) initCallbacks() {
	// wxoa_callbacks_total is the traffic WeChat pushes: a drop to zero
	// while users are active means the callback URL or token is broken at
	// the WeChat end; a mode other than the configured one means the
	// console setting changed.
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "callbacks_total",
		Help: "Callback messages accepted, by account, MsgType (event:<Event> for events) and mode (plain, compat, safe).",
	}, []string{AccountLabel, "type", "mode"})
	// wxoa_callback_rejections_total: bad_signature or decrypt after a
	// deploy means a wrong callback token or AES key; a steady trickle of
	// bad_signature is someone probing the URL; stale_timestamp is a
	// replay or a clock off.
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "callback_rejections_total",
		Help: "Callback requests refused before a reply, by account and reason.",
	}, []string{AccountLabel, "reason"})
	// wxoa_replies_total: what users get. A rising share of "success"
	// means rules fall through or forwards miss the deadline.
	m.replies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "replies_total",
		Help: "Replies answered (passive, or sent by customer-service message for Mini Programs), by account and kind (success: acknowledged without a reply).",
	}, []string{AccountLabel, "kind"})
	// wxoa_dedup_hits_total: WeChat retries a message it got no answer to
	// within 5 s; many hits mean replies are slow.
	m.dedupHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "dedup", Name: "hits_total",
		Help: "Retried callbacks answered with the reply stored for the first delivery, by account.",
	}, []string{AccountLabel})
	m.reg.MustRegister(m.callbacks, m.rejections, m.replies, m.dedupHits)
	m.accounts = map[string]*Account{}
}

// Account is the callback, reply and dedup series of one account: the
// handlers and the reply pipeline of that account hold it, so recording
// costs no label lookup. Series are created on first use, so an account
// that never sees a callback exports none: a thousand accounts cost only
// the series that happened. Every method is a no-op on a nil *Account.
type Account struct {
	name       string
	m          *Metrics
	cbSlots    [numTypes * numModes]slot[prometheus.Counter]
	rejections [numReasons]slot[prometheus.Counter]
	replies    [numKinds]slot[prometheus.Counter]
	dedupHits  slot[prometheus.Counter]
}

// Account returns the series of the account name, the same value for the
// same name until ForgetAccount: an account rebuilt by a reload keeps
// counting where it was.
func (m *Metrics) Account(name string) (*Account, error) {
	if m == nil {
		return nil, nil
	}
	if err := checkLabel("account", name); err != nil {
		return nil, err
	}
	m.accountsMu.Lock()
	defer m.accountsMu.Unlock()
	a, ok := m.accounts[name]
	if !ok {
		a = &Account{name: name, m: m}
		m.accounts[name] = a
	}
	return a, nil
}

// ForgetAccount deletes every series of the account name (a reload removed
// it), its token series included, so that /metrics lists only the
// accounts configured.
func (m *Metrics) ForgetAccount(name string) {
	if m == nil {
		return
	}
	m.accountsMu.Lock()
	delete(m.accounts, name)
	m.accountsMu.Unlock()
	l := prometheus.Labels{AccountLabel: name}
	for _, v := range []*prometheus.CounterVec{m.callbacks, m.rejections, m.replies, m.dedupHits} {
		v.DeletePartialMatch(l)
	}
	m.tokens.unwatch(name)
}

// Name is the account's label value.
func (a *Account) Name() string {
	if a == nil {
		return ""
	}
	return a.name
}

// CallbackMessage is Callback with the type read from msg (TypeOf), for
// callers holding the parsed message: it allocates nothing.
func (a *Account) CallbackMessage(msg wechat.Message, mode string) {
	if a == nil {
		return
	}
	a.Callback(TypeOf(msg), mode)
}

// Callback records an accepted callback message: msgType is TypeOf(msg)
// ("text", "event:CLICK", ...), mode is ModePlain, ModeCompat or ModeSafe.
func (a *Account) Callback(msgType, mode string) {
	if a == nil {
		return
	}
	ti, mi := typeIndexOf(msgType), find(modeLabels[:], mode)
	a.cbSlots[ti*numModes+mi].get(func() prometheus.Counter {
		return a.m.callbacks.WithLabelValues(a.name, typeLabels[ti], modeLabels[mi])
	}).Inc()
}

// CallbackRejected records a callback refused before a reply, with one of
// the Reject* reasons.
func (a *Account) CallbackRejected(reason string) {
	if a == nil {
		return
	}
	i := find(reasonLabels[:], reason)
	a.rejections[i].get(func() prometheus.Counter {
		return a.m.rejections.WithLabelValues(a.name, reasonLabels[i])
	}).Inc()
}

// Reply records a reply of one of the Kind* kinds (ReplyKind).
func (a *Account) Reply(kind string) {
	if a == nil {
		return
	}
	i := find(kindLabels[:], kind)
	a.replies[i].get(func() prometheus.Counter {
		return a.m.replies.WithLabelValues(a.name, kindLabels[i])
	}).Inc()
}

// DedupHit records a retry answered with the reply stored for the first
// delivery.
func (a *Account) DedupHit() {
	if a == nil {
		return
	}
	a.dedupHits.get(func() prometheus.Counter {
		return a.m.dedupHits.WithLabelValues(a.name)
	}).Inc()
}

// String names the account for errors and tests.
func (a *Account) String() string { return fmt.Sprintf("metrics.Account(%q)", a.Name()) }
