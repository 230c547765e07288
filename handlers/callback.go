package handlers

import (
	"bytes"
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

type callback struct {
	token   string
	crypter *wechat.Crypter
	skew    time.Duration
	now     func() time.Time
	replies *replyCache
	log     *slog.Logger
}

const (
	contentXML  = "application/xml; charset=utf-8"
	contentText = "text/plain; charset=utf-8"
)

// verify answers WeChat's URL check when the callback is configured.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
func (h *callback) verify(c *gin.Context) {
	q := parseCallbackQuery(c.Request.URL.RawQuery)
	echo := q.echostr
	if echo == "" {
		badRequest(c, "missing echostr")
		return
	}
	if !h.checkSignature(c, q.signature, q.timestamp, q.nonce) {
		return
	}
	c.Data(http.StatusOK, contentText, []byte(echo))
}

// receive handles a pushed message or event in plaintext, compatible or safe
// mode and answers with a passive reply.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
func (h *callback) receive(c *gin.Context) {
	q := parseCallbackQuery(c.Request.URL.RawQuery)
	ts, nonce := q.timestamp, q.nonce
	if !h.checkSignature(c, q.signature, ts, nonce) {
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	// The parsers copy what they keep, so the buffer goes back to the pool.
	_, err := buf.ReadFrom(c.Request.Body)
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.String(http.StatusRequestEntityTooLarge, "body larger than %d bytes\n", tooBig.Limit)
			return
		}
		badRequest(c, "cannot read body")
		return
	}
	encrypted := q.encryptType == "aes"
	if !encrypted && h.crypter != nil {
		// With a key configured the body must be authenticated by
		// msg_signature; signature alone covers only timestamp and nonce, so
		// a captured URL would otherwise carry any plaintext body.
		badRequest(c, "plaintext message refused: WECHAT_ENCODING_AES_KEY is set, so only compatible/safe-mode (encrypt_type=aes) posts are accepted")
		return
	}
	if encrypted {
		if body, err = h.open(c, q.msgSignature, ts, nonce, body); err != nil {
			return
		}
	}
	msg, err := wechat.ParseMessage(body)
	if err != nil {
		badRequest(c, "malformed message: "+err.Error())
		return
	}
	reply := h.replies.reply(c.Request.Context(), msg)
	if isSuccess(reply) {
		write(c, textHeader, reply)
		return
	}
	if encrypted {
		sealed, err := h.crypter.SealReply(h.token, reply, strconv.FormatInt(h.now().Unix(), 10), nonce)
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

// open checks the msg_signature of a safe-mode envelope and decrypts it.
// It has answered the request when it returns an error.
func (h *callback) open(c *gin.Context, msgSig, ts, nonce string, body []byte) ([]byte, error) {
	if h.crypter == nil {
		badRequest(c, "encrypted message but no WECHAT_ENCODING_AES_KEY is configured")
		return nil, errors.New("no crypter")
	}
	if msgSig == "" {
		badRequest(c, "missing msg_signature")
		return nil, errors.New("no msg_signature")
	}
	env, err := wechat.ParseEnvelope(body)
	if err != nil {
		badRequest(c, "malformed envelope: "+err.Error())
		return nil, err
	}
	if !wechat.VerifyMsgSignature(h.token, ts, nonce, env.Encrypt, msgSig) {
		c.String(http.StatusForbidden, "invalid msg_signature\n")
		return nil, errors.New("bad msg_signature")
	}
	plain, err := h.crypter.Decrypt(env.Encrypt)
	if err != nil {
		badRequest(c, "cannot decrypt: "+err.Error())
		return nil, err
	}
	return plain, nil
}

// checkSignature answers 400 or 403 and returns false unless the request is
// signed with our token and recent enough.
func (h *callback) checkSignature(c *gin.Context, sig, ts, nonce string) bool {
	if sig == "" || ts == "" || nonce == "" {
		badRequest(c, "missing signature, timestamp or nonce")
		return false
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		badRequest(c, "timestamp is not a number")
		return false
	}
	if h.skew > 0 {
		if d := h.now().Sub(time.Unix(sent, 0)); d > h.skew || d < -h.skew {
			c.String(http.StatusForbidden, "timestamp outside the allowed clock skew\n")
			return false
		}
	}
	if !wechat.VerifySignature(h.token, ts, nonce, sig) {
		c.String(http.StatusForbidden, "invalid signature\n")
		return false
	}
	return true
}

func badRequest(c *gin.Context, reason string) {
	c.String(http.StatusBadRequest, "%s\n", reason)
}

func isSuccess(b []byte) bool { return string(b) == "success" }
