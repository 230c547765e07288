// Package dedup remembers which pushed messages have been answered and with
// what, so that WeChat's retries (three tries about 5 s apart) and replays of
// a captured request within the clock-skew window get the byte-identical
// reply and never run a reply rule twice.
//
// A Store is claimed once per message key (wechat.DedupKey): the claimer
// computes the reply and calls Done; everyone else who claims the same key
// waits for that reply. Memory keeps this in the process, in a fixed byte
// budget outside the garbage collector's view; Redis shares it across a
// fleet behind a load balancer; WithFallback serves from memory while Redis
// is down.
package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Store remembers claimed messages and their replies for a bounded time.
//
// Every successful Claim that returns claimed must be followed by Done or
// Abandon for the same key on the same Store (WithFallback relies on it to
// forget which store holds the claim).
type Store interface {
	// Claim claims key. If nobody holds it, claimed is true and the caller
	// must call Done (or Abandon). Otherwise Claim waits, until ctx ends,
	// for the holder's reply and returns it (claimed false); if ctx ends
	// first it returns ErrPending. A key that is done without a stored
	// reply (too large, or abandoned) returns ErrNoReply. Any other error
	// means the store itself failed.
	Claim(ctx context.Context, key string) (claimed bool, reply []byte, err error)
	// Done stores the reply for a key this caller claimed, releasing
	// waiters anywhere. A reply larger than the store keeps is remembered
	// as done without bytes (waiters get ErrNoReply). Its ctx should not
	// end with the request (context.WithoutCancel): a reply finished after
	// WeChat hung up is what its retry is waiting for.
	Done(ctx context.Context, key string, reply []byte) error
	// Abandon marks a claimed key done without a reply, for a claimer that
	// has nothing to store (its rule panicked): waiters and later retries
	// get ErrNoReply, answer "success", and do not run the rule again,
	// which may have had effects before it failed.
	Abandon(ctx context.Context, key string) error
	// Once reports true to exactly one caller per key within the TTL: a
	// late answer is sent as a customer-service message once, fleet-wide.
	Once(ctx context.Context, key string) (bool, error)
}

var (
	// ErrPending means the key is claimed by a caller still working on it
	// and the waiter's ctx ended first. The waiter answers "success" and
	// leaves the message to the holder; it never runs the rule itself.
	ErrPending = errors.New("dedup: reply still pending")
	// ErrNoReply means the key is done but no reply bytes were kept (too
	// large, or the claimer abandoned it): answer "success".
	ErrNoReply = errors.New("dedup: done without a stored reply")
)

const (
	// DefaultTTL is the TTL of a store configured without one: twice the
	// callback's default clock-skew window (5 min), since a timestamp is
	// accepted from skew before to skew after it, so a replay can come up
	// to 2×skew after the first try when the clocks disagree. The service
	// does not rely on it: it sizes its stores with reply.DedupTTL,
	// 2×skew + 1 min (11 min at the default window), and uses this value
	// only when the timestamp check is off.
	DefaultTTL = 10 * time.Minute
	// DefaultMaxReply is the largest reply kept by default. Replies are
	// normally under 4 KiB; a forward endpoint's answer is read up to
	// 64 KiB, and the reply built from it can be a little larger.
	DefaultMaxReply = 256 << 10
)

// Value tags: the first byte of every stored value, so that a stored reply
// is exactly the bytes after it.
const (
	tagPending byte = 'p'
	tagReply   byte = 'r'
	tagNoReply byte = 'n'
	tagChunked byte = 'c' // Memory only: the reply is split over parts
)

// maxPlainKey is the longest key stored as is. Keys come from message
// fields, and in plaintext mode a captured URL carries any body, so a 60 KB
// FromUserName would otherwise be a 60 KB key in every store.
const maxPlainKey = 128

// keyHashed reports whether key is stored as its SHA-256 digest: when it is
// long, or starts with '#', which marks digests so that no plain key can
// equal one.
func keyHashed(key string) bool {
	return len(key) > maxPlainKey || (len(key) > 0 && key[0] == '#')
}

// storedKey is key as the Redis store names it: the key itself, or its
// digest when keyHashed.
func storedKey(key string) string {
	if !keyHashed(key) {
		return key
	}
	return string(appendDigest(nil, key))
}

// appendDigest appends what every store names a hashed key by: '#' and the
// hex SHA-256 of key.
func appendDigest(dst []byte, key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return hex.AppendEncode(append(dst, '#'), sum[:])
}

// decode interprets a stored value: a reply (aliasing v), a claim still
// pending, or ErrNoReply for a marker or anything it does not know.
func decode(v []byte) (reply []byte, pending bool, err error) {
	if len(v) == 0 {
		return nil, false, ErrNoReply
	}
	switch v[0] {
	case tagPending:
		return nil, true, nil
	case tagReply:
		return v[1:], false, nil
	default:
		return nil, false, ErrNoReply
	}
}

// waiter paces a Claim that waits for another caller's reply: it polls
// every poll and gives up with ErrPending when ctx ends or maxWait passes.
// Its timers start at the first wait, so a claim that does not wait (almost
// all of them) costs nothing.
type waiter struct {
	poll, maxWait time.Duration
	tick          *time.Ticker
	giveUp        *time.Timer
}

func (w *waiter) wait(ctx context.Context) error {
	if w.tick == nil {
		w.tick = time.NewTicker(w.poll)
		if w.maxWait > 0 {
			w.giveUp = time.NewTimer(w.maxWait)
		}
	}
	var giveUp <-chan time.Time
	if w.giveUp != nil {
		giveUp = w.giveUp.C
	}
	select {
	case <-ctx.Done():
		return ErrPending
	case <-giveUp:
		return ErrPending
	case <-w.tick.C:
		return nil
	}
}

func (w *waiter) stop() {
	if w.tick != nil {
		w.tick.Stop()
	}
	if w.giveUp != nil {
		w.giveUp.Stop()
	}
}
