package wechat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// Safe mode ("安全模式") message encryption.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
//
// plaintext = random(16) | BigEndian uint32 len(msg) | msg | appid,
// padded PKCS#7-style to a multiple of 32 bytes, AES-256-CBC with the key
// and IV = key[:16], base64.

// Sentinels for errors.Is; a decryption failure always matches one.
var (
	ErrBadAESKey     = errors.New("wechat: EncodingAESKey must be 43 base64 characters")
	ErrBadBase64     = errors.New("wechat: ciphertext is not base64")
	ErrBadPadding    = errors.New("wechat: bad padding in decrypted message")
	ErrBadLength     = errors.New("wechat: ciphertext or message length out of range")
	ErrAppIDMismatch = errors.New("wechat: decrypted message is for another appid")
)

const (
	aesKeyLen    = 32
	randomLen    = 16
	padBlockSize = 32 // WeChat pads to 32 bytes, not AES's 16
)

// DecodeAESKey decodes the 43-character EncodingAESKey into the 32-byte
// AES key. Decoding is lenient about the unused low bits of the last
// character: WeChat's own sample key ("abc...EFG") has them set.
func DecodeAESKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("%w: got %d characters", ErrBadAESKey, len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != aesKeyLen {
		return nil, ErrBadAESKey
	}
	return key, nil
}

// Crypter encrypts and decrypts safe-mode messages for one account. It is
// safe for concurrent use.
type Crypter struct {
	block cipher.Block
	iv    []byte
	appID string
}

// NewCrypter returns a Crypter for the account's EncodingAESKey and appid.
func NewCrypter(encodingAESKey, appID string) (*Crypter, error) {
	key, err := DecodeAESKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	if appID == "" {
		return nil, errors.New("wechat: new crypter: empty appid")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wechat: new crypter: %w", err)
	}
	return &Crypter{block: block, iv: key[:aes.BlockSize], appID: appID}, nil
}

// Decrypt decodes and decrypts the <Encrypt> text (or the echostr of an
// encrypted URL check) and returns the message, after checking that it was
// sealed for this Crypter's appid. It never panics, whatever the input.
func (c *Crypter) Decrypt(encrypted string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, ErrBadBase64
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes of ciphertext", ErrBadLength, len(buf))
	}
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(buf, buf)
	plain, err := unpad(buf)
	if err != nil {
		return nil, err
	}
	if len(plain) < randomLen+4 {
		return nil, fmt.Errorf("%w: %d bytes of plaintext", ErrBadLength, len(plain))
	}
	msgLen := uint64(binary.BigEndian.Uint32(plain[randomLen:]))
	rest := plain[randomLen+4:]
	if msgLen > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: message length %d exceeds %d bytes", ErrBadLength, msgLen, len(rest))
	}
	msg, appID := rest[:msgLen], rest[msgLen:]
	if subtle.ConstantTimeCompare(appID, []byte(c.appID)) != 1 {
		return nil, ErrAppIDMismatch
	}
	return msg, nil
}

// unpad strips the padding: n bytes of value n, 1 <= n <= 32.
func unpad(b []byte) ([]byte, error) {
	n := int(b[len(b)-1])
	if n < 1 || n > padBlockSize || n > len(b) {
		return nil, fmt.Errorf("%w: pad value %d", ErrBadPadding, n)
	}
	for _, v := range b[len(b)-n:] {
		if int(v) != n {
			return nil, fmt.Errorf("%w: inconsistent pad bytes", ErrBadPadding)
		}
	}
	return b[:len(b)-n], nil
}

// Encrypt seals plain for this Crypter's appid with 16 random bytes from
// crypto/rand, and returns the base64 text for <Encrypt>.
func (c *Crypter) Encrypt(plain []byte) (string, error) {
	var random [randomLen]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("wechat: encrypt: %w", err)
	}
	return c.EncryptWithRandom(random[:], plain)
}

// EncryptWithRandom is Encrypt with the 16 random bytes given, so that
// known-answer tests can reproduce WeChat's samples.
func (c *Crypter) EncryptWithRandom(random []byte, plain []byte) (string, error) {
	if len(random) != randomLen {
		return "", fmt.Errorf("wechat: encrypt: random must be %d bytes, got %d", randomLen, len(random))
	}
	if uint64(len(plain)) > 1<<32-1 {
		return "", fmt.Errorf("%w: message of %d bytes", ErrBadLength, len(plain))
	}
	n := randomLen + 4 + len(plain) + len(c.appID)
	pad := padBlockSize - n%padBlockSize
	buf := make([]byte, 0, n+pad)
	buf = append(buf, random...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(plain)))
	buf = append(buf, plain...)
	buf = append(buf, c.appID...)
	for range pad {
		buf = append(buf, byte(pad))
	}
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}
