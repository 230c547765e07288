package dedup

import (
	"context"
	"crypto/sha256"
	"errors"
)

// ErrReplayed means a signed query came back carrying a body other than
// the first one it brought: someone replays a captured callback URL with a
// message of their own. The caller refuses it (403); nothing was claimed.
var ErrReplayed = errors.New("dedup: signed query already carried another message")

// Binding ties a signed plaintext query to the first message body it
// carried. In plaintext mode WeChat's signature covers only the timestamp
// and nonce, so a query read from a proxy log passes the signature check
// with any body for the whole clock-skew window; bound, it passes only with
// the body it came with (WeChat's own retry of that message). Encrypted
// modes need no binding: msg_signature covers the ciphertext.
//
// Both halves are truncated SHA-256 digests, so a binding costs a store a
// few dozen bytes whatever the body's size.
type Binding struct {
	Query [16]byte // digest of timestamp, nonce and signature
	Body  [16]byte // digest of the raw body
}

// Bind returns the binding of the query signed by timestamp, nonce and
// signature to body.
func Bind(timestamp, nonce, signature string, body []byte) Binding {
	var b Binding
	// Each part after its length, so that no two different triples hash
	// the same; on the stack for WeChat's sizes (10, ~10 and 40 bytes).
	var buf [128]byte
	q := buf[:0]
	for _, s := range [...]string{timestamp, nonce, signature} {
		q = append(q, byte(len(s)>>8), byte(len(s)))
		q = append(q, s...)
	}
	sum := sha256.Sum256(q)
	copy(b.Query[:], sum[:])
	sum = sha256.Sum256(body)
	copy(b.Body[:], sum[:])
	return b
}

// Binder is a Store that checks a binding in the same step as a claim:
// the Memory, Redis and Fallback stores.
type Binder interface {
	Store
	// ClaimBound is Claim for a message that came on a bound query: the
	// query is bound to b.Body if it is not yet bound to anything; if it is
	// bound to another body, ClaimBound returns ErrReplayed without
	// claiming or waiting for key. The binding is kept for the store's TTL.
	ClaimBound(ctx context.Context, key string, b Binding) (claimed bool, reply []byte, err error)
}

var (
	_ Binder = (*Memory)(nil)
	_ Binder = (*Redis)(nil)
	_ Binder = (*Fallback)(nil)
)
