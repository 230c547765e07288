package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"wxoa/wechat"
)

// MaxBody bounds a callback body: real messages are a few KiB at most.
const MaxBody = 64 << 10

// CallbackConfig is what the callback needs to check and answer WeChat.
type CallbackConfig struct {
	Token        wechat.Secret
	Crypter      *wechat.Crypter // nil: safe mode off, encrypted posts get 400
	MaxClockSkew time.Duration   // 0: no timestamp check
}

// Answerer answers a pushed message: the passive reply as plaintext XML,
// or wechat.SuccessReply for none (*reply.Pipeline). It never fails: what
// goes wrong is its to log, and WeChat gets "success".
type Answerer interface {
	Answer(ctx context.Context, msg wechat.Message) []byte
}

type callback struct {
	token   string
	crypter *wechat.Crypter
	skew    time.Duration
	now     func() time.Time
	answers Answerer
	log     *slog.Logger
}

const (
	contentXML  = "application/xml; charset=utf-8"
	contentText = "text/plain; charset=utf-8"
)

// verify answers WeChat's URL check when the callback is configured.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
func (h *callback) verify(c *gin.Context) {
	q := wechat.ParsePushQuery(c.Request.URL.RawQuery)
	if q.EchoStr == "" {
		badRequest(c, "missing echostr")
		return
	}
	if err := wechat.VerifyPush(h.token, q, h.now(), h.skew); err != nil {
		refuse(c, err)
		return
	}
	c.Data(http.StatusOK, contentText, []byte(q.EchoStr))
}

// receive handles a pushed message or event in plaintext, compatible or safe
// mode and answers with a passive reply.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
func (h *callback) receive(c *gin.Context) {
	q := wechat.ParsePushQuery(c.Request.URL.RawQuery)
	if err := wechat.VerifyPush(h.token, q, h.now(), h.skew); err != nil {
		refuse(c, err)
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	// The parsers copy what they keep, so the buffer goes back to the pool.
	_, err := buf.ReadFrom(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.String(http.StatusRequestEntityTooLarge, "body larger than %d bytes\n", tooBig.Limit)
			return
		}
		badRequest(c, "cannot read body")
		return
	}
	body, err := wechat.OpenPush(h.token, h.crypter, q, buf.Bytes())
	if err != nil {
		refuse(c, err)
		return
	}
	msg, err := wechat.ParseMessage(body)
	if err != nil {
		badRequest(c, "malformed message: "+err.Error())
		return
	}
	reply := h.answers.Answer(c.Request.Context(), msg)
	if isSuccess(reply) {
		write(c, textHeader, reply)
		return
	}
	if q.Encrypted() {
		sealed, err := h.crypter.SealReply(h.token, reply, strconv.FormatInt(h.now().Unix(), 10), q.Nonce)
		if err != nil {
			h.log.Error("seal reply", "err", err)
			write(c, textHeader, wechat.SuccessReply)
			return
		}
		reply = sealed
	}
	write(c, xmlHeader, reply)
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
func refuse(c *gin.Context, err error) {
	status, reason := http.StatusBadRequest, err.Error()
	switch {
	case errors.Is(err, wechat.ErrMissingSignature):
		reason = "missing signature, timestamp or nonce"
	case errors.Is(err, wechat.ErrBadTimestamp):
		reason = "timestamp is not a number"
	case errors.Is(err, wechat.ErrClockSkew):
		status, reason = http.StatusForbidden, "timestamp outside the allowed clock skew"
	case errors.Is(err, wechat.ErrBadSignature):
		status, reason = http.StatusForbidden, "invalid signature"
	case errors.Is(err, wechat.ErrPlaintextRefused):
		reason = "plaintext message refused: WECHAT_ENCODING_AES_KEY is set, so only compatible/safe-mode (encrypt_type=aes) posts are accepted"
	case errors.Is(err, wechat.ErrNoKey):
		reason = "encrypted message but no WECHAT_ENCODING_AES_KEY is configured"
	case errors.Is(err, wechat.ErrMissingMsgSignature):
		reason = "missing msg_signature"
	case errors.Is(err, wechat.ErrBadMsgSignature):
		status, reason = http.StatusForbidden, "invalid msg_signature"
	case errors.Is(err, wechat.ErrDecrypt):
		reason = "cannot decrypt: " + err.Error()
	case errors.Is(err, wechat.ErrMalformedMessage):
		reason = "malformed envelope: " + err.Error()
	}
	c.String(status, "%s\n", reason)
}

func badRequest(c *gin.Context, reason string) {
	c.String(http.StatusBadRequest, "%s\n", reason)
}

func isSuccess(b []byte) bool { return string(b) == "success" }
