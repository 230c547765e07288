// Package jssdk signs the wx.config call a web page makes before it may use
// the WeChat JS-SDK.
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (appendix 1)
package jssdk

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat"
)

// MaxURLBytes bounds the page URL we sign; anything longer is not a page a
// browser would load and is more likely abuse of the signing endpoint.
const MaxURLBytes = 2048

// NonceLen is the length of NewNonce's strings; WeChat allows up to 32.
const NonceLen = 16

const maxNonceLen = 32

// Config is what the page passes to wx.config, besides jsApiList and debug.
type Config struct {
	AppID     string `json:"appId"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
}

// Signature computes the JS-SDK signature: the SHA-1, in lower-case hex, of
// "jsapi_ticket=…&noncestr=…&timestamp=…&url=…" with the keys in that
// (ASCII) order. The url is signed exactly as the page sees it
// (location.href), minus its #fragment, which the browser never sends.
func Signature(ticket, nonceStr string, timestamp int64, url string) string {
	url, _, _ = strings.Cut(url, "#")
	h := sha1.New()
	h.Write([]byte("jsapi_ticket=" + ticket +
		"&noncestr=" + nonceStr +
		"&timestamp=" + strconv.FormatInt(timestamp, 10) +
		"&url=" + url))
	return hex.EncodeToString(h.Sum(nil))
}

// NewConfig signs pageURL for wx.config. An empty nonce draws a fresh one
// with NewNonce; a given nonce must be 1 to 32 letters or digits.
func NewConfig(appID, ticket, pageURL string, now time.Time, nonce string) (Config, error) {
	switch {
	case appID == "":
		return Config{}, errors.New("jssdk config: app id is empty")
	case ticket == "":
		return Config{}, errors.New("jssdk config: jsapi_ticket is empty")
	case now.IsZero():
		return Config{}, errors.New("jssdk config: time is zero")
	}
	page, err := checkPageURL(pageURL)
	if err != nil {
		return Config{}, fmt.Errorf("jssdk config: %w", err)
	}
	if nonce == "" {
		if nonce, err = NewNonce(); err != nil {
			return Config{}, fmt.Errorf("jssdk config: %w", err)
		}
	} else if !validNonce(nonce) {
		return Config{}, fmt.Errorf("jssdk config: nonce must be 1 to %d letters or digits", maxNonceLen)
	}
	ts := now.Unix()
	return Config{
		AppID:     appID,
		Timestamp: ts,
		NonceStr:  nonce,
		Signature: Signature(ticket, nonce, ts, page),
	}, nil
}

// checkPageURL returns pageURL without its fragment, or why it cannot be
// signed. Errors never quote the URL: its query may carry an OAuth code.
func checkPageURL(pageURL string) (string, error) {
	if pageURL == "" {
		return "", errors.New("page url is empty")
	}
	if len(pageURL) > MaxURLBytes {
		return "", fmt.Errorf("page url is %d bytes, at most %d", len(pageURL), MaxURLBytes)
	}
	page, _, _ := strings.Cut(pageURL, "#")
	u, err := url.Parse(page)
	if err != nil {
		return "", fmt.Errorf("page url is invalid: %w", wechat.StripURL(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("page url must be absolute http or https (scheme is %q)", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("page url has no host")
	}
	return page, nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewNonce returns NonceLen random letters and digits from crypto/rand.
func NewNonce() (string, error) {
	// Bytes at or above 248 (4×62) are dropped so each letter is equally likely.
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, NonceLen)
	var buf [NonceLen * 2]byte
	for len(out) < NonceLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("nonce: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < NonceLen {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func validNonce(s string) bool {
	if len(s) == 0 || len(s) > maxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(alphabet, rune(s[i])) {
			return false
		}
	}
	return true
}
