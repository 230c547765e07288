package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"wxoa/internal/metrics"
	"wxoa/wechat"
)

// PlainAnswerer is an Answerer that also binds a plaintext push's signed
// query to the body it first carried (*reply.Pipeline): in plaintext mode
// the signature covers only the timestamp and nonce, so a query read from
// a log would otherwise pass with any body for the clock-skew window. A
// non-nil error means the query already carried another message: refuse
// it, nothing was claimed and no rule ran.
type PlainAnswerer interface {
	AnswerPlain(ctx context.Context, msg wechat.Message, q wechat.PushQuery, body []byte) ([]byte, error)
}

// answer asks h.answers for msg's reply, through AnswerPlain for a
// plaintext push when it can; ok is false when the push was refused as a
// replay (answered here). Encrypted modes (WeCom's always) need no
// binding: msg_signature covers the ciphertext, so a captured query carries
// its own body only.
func (h *callback) answer(c *gin.Context, q wechat.PushQuery, body []byte, msg wechat.Message) (reply []byte, ok bool) {
	pa, can := h.answers.(PlainAnswerer)
	if !can || q.Encrypted() || h.wecom {
		return h.answers.Answer(c.Request.Context(), msg), true
	}
	reply, err := pa.AnswerPlain(c.Request.Context(), msg, q, body)
	if err != nil {
		// The signature does not vouch for this body: counted with the
		// bad signatures, told apart in the log line.
		h.rejected(c, metrics.RejectBadSignature, http.StatusForbidden, "signed query already used for another message")
		return nil, false
	}
	return reply, true
}
