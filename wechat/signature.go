package wechat

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"slices"
)

// Callback signatures.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html

// Sign sorts parts lexicographically, concatenates them and returns the
// lower-case hex SHA-1: WeChat's signature over (token, timestamp, nonce)
// and, with the ciphertext added, its msg_signature.
func Sign(parts ...string) string {
	d := digest(parts)
	var out [2 * sha1.Size]byte
	hex.Encode(out[:], d[:])
	return string(out[:])
}

// VerifySignature checks the signature query parameter of a callback
// (plaintext mode, and the GET that verifies the URL).
func VerifySignature(token, timestamp, nonce, signature string) bool {
	return verify(signature, token, timestamp, nonce)
}

// VerifyMsgSignature checks the msg_signature of an encrypted callback:
// SHA-1 over the sorted token, timestamp, nonce and the <Encrypt> text.
func VerifyMsgSignature(token, timestamp, nonce, encrypt, msgSignature string) bool {
	return verify(msgSignature, token, timestamp, nonce, encrypt)
}

// verify compares in constant time so a timing side channel cannot tell an
// attacker how many leading characters of a forged signature were right.
func verify(signature string, parts ...string) bool {
	if len(signature) != 2*sha1.Size {
		return false
	}
	d := digest(parts)
	var want [2 * sha1.Size]byte
	hex.Encode(want[:], d[:])
	var diff byte
	for i := range want {
		diff |= want[i] ^ signature[i]
	}
	return subtle.ConstantTimeByteEq(diff, 0) == 1
}

// digest hashes the sorted concatenation of parts without touching the
// caller's slice, on the stack when it is short.
func digest(parts []string) [sha1.Size]byte {
	var sortBuf [4]string
	sorted := append(sortBuf[:0], parts...)
	slices.Sort(sorted)
	n := 0
	for _, p := range sorted {
		n += len(p)
	}
	var stack [256]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	for _, p := range sorted {
		buf = append(buf, p...)
	}
	return sha1.Sum(buf)
}
