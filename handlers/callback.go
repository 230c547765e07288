package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"wxoa/handlers/admin"
	"wxoa/internal/metrics"
	"wxoa/wechat"
)

// MaxBody bounds a callback body: real messages are a few KiB at most.
const MaxBody = 64 << 10

// Answerer answers a pushed message: the passive reply as plaintext XML,
// or wechat.SuccessReply for none (*reply.Pipeline). It never fails: what
// goes wrong is its to log, and WeChat gets "success".
type Answerer interface {
	Answer(ctx context.Context, msg wechat.Message) []byte
}

// callback serves one account's callback path; the router builds one per
// account, so a request never looks its account up.
type callback struct {
	account string
	token   string
	crypter *wechat.Crypter
	wecom   bool // WeCom's protocol: always encrypted, msg_signature only
	json    bool // a Mini Program's JSON pushes
	// msgTypeTag tells compatible mode (plaintext fields beside the
	// ciphertext) from safe mode, in the account's format.
	msgTypeTag []byte
	skew       time.Duration
	now        func() time.Time
	answers    Answerer
	log        *slog.Logger
	obs        CallbackObserver
	traffic    Traffic
	dates      *dateHeader
	// warn paces the lines about refused pushes: WeChat's console never
	// shows our answer, so the log must say why, but a flood of forged
	// requests must not become a flood of lines. One for all accounts.
	warn *rate.Sometimes
}

// callback returns the handlers of a's callback.
func (rt *Router) callback(a *Account) *callback {
	cb := a.Callback
	var obs CallbackObserver = nopObserver{}
	if cb.Observer != nil {
		obs = cb.Observer
	}
	tag := msgTypeXML
	if cb.JSON {
		tag = msgTypeJSON
	}
	return &callback{
		account:    a.Name,
		token:      cb.Token.Reveal(),
		crypter:    cb.Crypter,
		wecom:      a.Kind == WeCom,
		json:       cb.JSON,
		msgTypeTag: tag,
		skew:       rt.d.MaxClockSkew,
		now:        rt.d.Now,
		answers:    cb.Answerer,
		log:        rt.d.Logger,
		obs:        obs,
		traffic:    rt.d.Traffic,
		dates:      rt.dates,
		warn:       rt.warn,
	}
}

const (
	contentXML  = "application/xml; charset=utf-8"
	contentText = "text/plain; charset=utf-8"
)

// verify answers WeChat's URL check: the echostr itself once the
// signature checks out; for WeCom, whose echostr is ciphertext under
// msg_signature, its plaintext.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
// https://developer.work.weixin.qq.com/document/path/90930
func (h *callback) verify(c *gin.Context) {
	q := wechat.ParsePushQuery(c.Request.URL.RawQuery)
	if q.EchoStr == "" {
		badRequest(c, "missing echostr")
		return
	}
	if h.wecom {
		echo, err := wechat.VerifyWeComURL(h.token, h.crypter, q, h.now(), h.skew)
		if err != nil {
			h.refuse(c, err)
			return
		}
		c.Data(http.StatusOK, contentText, echo)
		return
	}
	if err := wechat.VerifyPush(h.token, q, h.now(), h.skew); err != nil {
		h.refuse(c, err)
		return
	}
	c.Data(http.StatusOK, contentText, []byte(q.EchoStr))
}

// receive handles a pushed message or event — plaintext, compatible or safe
// mode; XML, or JSON for a Mini Program that chose it; always encrypted for
// WeCom — and answers with a passive reply (a Mini Program's Answerer
// answers "success" and sends its reply itself).
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
// https://developer.work.weixin.qq.com/document/path/90238
func (h *callback) receive(c *gin.Context) {
	start := time.Now()
	var msg wechat.Message
	defer func() { h.record(c, start, msg) }()
	q := wechat.ParsePushQuery(c.Request.URL.RawQuery)
	// A WeCom push has no signature of its own: its msg_signature covers
	// the body, which is read first.
	now := h.now()
	if !h.wecom {
		if err := wechat.VerifyPush(h.token, q, now, h.skew); err != nil {
			h.refuse(c, err)
			return
		}
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	// The parsers copy what they keep, so the buffer goes back to the pool.
	_, err := buf.ReadFrom(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.rejected(c, metrics.RejectTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
			return
		}
		h.rejected(c, metrics.Other, http.StatusBadRequest, "cannot read body")
		return
	}
	mode := metrics.ModePlain
	if q.Encrypted() || h.wecom {
		// Compatible mode sends the plaintext fields beside the ciphertext.
		mode = metrics.ModeSafe
		if bytes.Contains(buf.Bytes(), h.msgTypeTag) {
			mode = metrics.ModeCompat
		}
	}
	body, err := h.open(q, buf.Bytes(), now)
	if err != nil {
		h.refuse(c, err)
		return
	}
	if msg, err = h.parse(body); err != nil {
		h.rejected(c, metrics.RejectBadXML, http.StatusBadRequest, "malformed message: "+err.Error())
		return
	}
	h.obs.CallbackMessage(msg, mode)
	reply, ok := h.answer(c, q, body, msg)
	if !ok {
		return
	}
	c.Writer.Header()["Date"] = h.dates.at(now)
	if isSuccess(reply) {
		write(c, textHeader, reply)
		return
	}
	if q.Encrypted() || h.wecom {
		sealed, err := h.crypter.SealReply(h.token, reply, strconv.FormatInt(now.Unix(), 10), q.Nonce)
		if err != nil {
			h.log.Error("seal reply", "account", h.account, "err", err)
			write(c, textHeader, wechat.SuccessReply)
			return
		}
		reply = sealed
	}
	write(c, xmlHeader, reply)
}

// open returns the plaintext message of a push in the account's protocol.
func (h *callback) open(q wechat.PushQuery, body []byte, now time.Time) ([]byte, error) {
	switch {
	case h.wecom:
		return wechat.OpenWeComPush(h.token, h.crypter, q, body, now, h.skew)
	case h.json:
		return wechat.OpenJSONPush(h.token, h.crypter, q, body)
	}
	return wechat.OpenPush(h.token, h.crypter, q, body)
}

// parse reads the plaintext message in the account's format.
func (h *callback) parse(body []byte) (wechat.Message, error) {
	switch {
	case h.wecom:
		return wechat.ParseWeComMessage(body)
	case h.json:
		return wechat.ParseJSONMessage(body)
	}
	return wechat.ParseMessage(body)
}

// Shared, never modified: setting the header from these saves an
// allocation per reply on the hottest path.
var (
	xmlHeader  = []string{contentXML}
	textHeader = []string{contentText}
	bodyPool   = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 2048)) }}
)

func write(c *gin.Context, contentType []string, b []byte) {
	c.Writer.Header()["Content-Type"] = contentType
	c.Writer.WriteHeader(http.StatusOK)
	c.Writer.Write(b)
}

// refuse answers a push that VerifyPush or OpenPush turned down: 403 when
// a signature or the clock says it is not from WeChat, 400 when it is
// malformed or does not fit our configuration; the body says which.
func (h *callback) refuse(c *gin.Context, err error) {
	status, label, reason := http.StatusBadRequest, metrics.Other, err.Error()
	switch {
	case errors.Is(err, wechat.ErrMissingSignature):
		label, reason = metrics.RejectMissingParams, "missing signature, timestamp or nonce"
	case errors.Is(err, wechat.ErrBadTimestamp):
		label, reason = metrics.RejectMissingParams, "timestamp is not a number"
	case errors.Is(err, wechat.ErrClockSkew):
		status, label, reason = http.StatusForbidden, metrics.RejectStaleTimestamp, "timestamp outside the allowed clock skew"
	case errors.Is(err, wechat.ErrBadSignature):
		status, label, reason = http.StatusForbidden, metrics.RejectBadSignature, "invalid signature"
	case errors.Is(err, wechat.ErrPlaintextRefused):
		label, reason = metrics.RejectPlaintextRefused, "plaintext message refused: WECHAT_ENCODING_AES_KEY is set, so only compatible/safe-mode (encrypt_type=aes) posts are accepted"
	case errors.Is(err, wechat.ErrNoKey):
		label, reason = metrics.RejectNoKey, "encrypted message but no WECHAT_ENCODING_AES_KEY is configured"
	case errors.Is(err, wechat.ErrMissingMsgSignature):
		label, reason = metrics.RejectMissingParams, "missing msg_signature"
	case errors.Is(err, wechat.ErrBadMsgSignature):
		status, label, reason = http.StatusForbidden, metrics.RejectBadSignature, "invalid msg_signature"
	case errors.Is(err, wechat.ErrDecrypt):
		label, reason = metrics.RejectDecrypt, "cannot decrypt: "+err.Error()
	case errors.Is(err, wechat.ErrMalformedMessage):
		label, reason = metrics.RejectBadXML, "malformed envelope: "+err.Error()
	}
	h.rejected(c, label, status, reason)
}

// rejected answers a refused push with status and reason, counts it, and
// logs why at WARN (paced): the reason never quotes the message, and the
// query (signature, openid) is never logged.
func (h *callback) rejected(c *gin.Context, label string, status int, reason string) {
	h.obs.CallbackRejected(label)
	h.warn.Do(func() {
		h.log.Warn("callback refused", "account", h.account, "reason", label, "status", status, "detail", reason, "client", c.ClientIP())
	})
	c.String(status, "%s\n", reason)
}

// record notes the callback for the admin page once it is answered.
func (h *callback) record(c *gin.Context, start time.Time, msg wechat.Message) {
	e := admin.Entry{Account: h.account, Time: start, Status: c.Writer.Status(), Latency: time.Since(start)}
	if msg != nil {
		hd := msg.Head()
		e.Type, e.Event = string(hd.MsgType), string(wechat.EventOf(msg))
	}
	h.traffic.Record(e)
}

var (
	msgTypeXML  = []byte("<MsgType>")
	msgTypeJSON = []byte(`"MsgType"`)
)

func badRequest(c *gin.Context, reason string) {
	c.String(http.StatusBadRequest, "%s\n", reason)
}

// isSuccess reports whether the Answerer acknowledged without a reply:
// that is sent as is, never sealed, as WeChat accepts it in every mode.
func isSuccess(b []byte) bool { return bytes.Equal(b, wechat.SuccessReply) }
