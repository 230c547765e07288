package wechat

import (
	"crypto/subtle"
	"log/slog"
)

// Secret holds a credential (app secret, access token, API key). Its String,
// GoString, LogValue and MarshalText print [REDACTED] so a secret that slips
// into a log line or an error message never shows.
type Secret string

const redacted = "[REDACTED]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Empty reports whether no secret is set.
func (s Secret) Empty() bool { return s == "" }

// Equal compares in constant time, so a timing side channel cannot reveal
// how much of a guess was right.
func (s Secret) Equal(other string) bool { return ConstantTimeEqual(string(s), other) }

// ConstantTimeEqual compares two strings in time that depends only on their
// lengths, like subtle.ConstantTimeCompare but without copying the strings
// to byte slices (it runs on every authenticated request).
func ConstantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}
