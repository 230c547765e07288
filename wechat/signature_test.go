package wechat

import (
	"strings"
	"testing"
)

func TestSign(t *testing.T) {
	long := strings.Repeat("L", 300) // past the stack buffer
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		// Expected values from `printf %s <sorted, concatenated parts> | sha1sum`.
		{"official sample", []string{sampleToken, sampleTimestamp, sampleNonce}, sampleSignature},
		{"order does not matter", []string{sampleNonce, sampleToken, sampleTimestamp}, sampleSignature},
		{"msg_signature", []string{sampleToken, sampleTimestamp, sampleNonce, sampleCipher}, sampleMsgSignature},
		{"python sample", []string{pyToken, pyTimestamp, pyNonce, pyEncrypt}, pyMsgSig},
		{"empty", nil, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"longer than the stack buffer", []string{"a", long}, "242068c10acc6b903d11557d2f49866606d4a57a"},
		{"five parts", []string{"e", "d", "c", "b", "a"}, "03de6c570bfe24bfc328ccd7ca46b76eadaf4334"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(tt.parts...); got != tt.want {
				t.Errorf("Sign(%q) = %s; want %s", tt.parts, got, tt.want)
			}
		})
	}
}

func TestSignDoesNotReorderArgs(t *testing.T) {
	parts := []string{"c", "b", "a"}
	Sign(parts...)
	if parts[0] != "c" || parts[2] != "a" {
		t.Errorf("Sign reordered its argument slice to %q", parts)
	}
}

func TestVerifySignature(t *testing.T) {
	tests := []struct {
		name, token, ts, nonce, sig string
		want                        bool
	}{
		{"official sample", sampleToken, sampleTimestamp, sampleNonce, sampleSignature, true},
		{"wrong token", "pamtest2", sampleTimestamp, sampleNonce, sampleSignature, false},
		{"wrong timestamp", sampleToken, "1409304349", sampleNonce, sampleSignature, false},
		{"upper-case hex", sampleToken, sampleTimestamp, sampleNonce, strings.ToUpper(sampleSignature), false},
		{"truncated", sampleToken, sampleTimestamp, sampleNonce, sampleSignature[:39], false},
		{"extra char", sampleToken, sampleTimestamp, sampleNonce, sampleSignature + "0", false},
		{"empty", sampleToken, sampleTimestamp, sampleNonce, "", false},
		{"last char flipped", sampleToken, sampleTimestamp, sampleNonce, sampleSignature[:39] + "e", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.token, tt.ts, tt.nonce, tt.sig); got != tt.want {
				t.Errorf("VerifySignature(%q, %q, %q, %q) = %v; want %v", tt.token, tt.ts, tt.nonce, tt.sig, got, tt.want)
			}
		})
	}
}

func TestVerifyMsgSignature(t *testing.T) {
	tests := []struct {
		name, encrypt, sig string
		want               bool
	}{
		{"official sample", sampleCipher, sampleMsgSignature, true},
		{"other ciphertext", sampleCipher2, sampleMsgSignature, false},
		{"plain signature is not a msg_signature", sampleCipher, sampleSignature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VerifyMsgSignature(sampleToken, sampleTimestamp, sampleNonce, tt.encrypt, tt.sig)
			if got != tt.want {
				t.Errorf("VerifyMsgSignature(..., %.16q, %q) = %v; want %v", tt.encrypt, tt.sig, got, tt.want)
			}
		})
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !VerifySignature(sampleToken, sampleTimestamp, sampleNonce, sampleSignature) {
			b.Fatal("VerifySignature = false")
		}
	}
}
