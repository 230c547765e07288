package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat"
)

// simTarget is where and how the simulator pushes: the callback URL and
// the account's secrets, as configured in WeChat's admin console.
type simTarget struct {
	URL     string // callback URL, without query
	Token   string
	Crypter *wechat.Crypter // nil: plaintext mode
	OpenID  string          // the simulated user (FromUserName)
	Account string          // the account's original id (ToUserName)
}

// buildPush returns the POST WeChat would send for the plaintext message
// body: signed with the token and, when t.Crypter is set, encrypted in safe
// mode with its msg_signature.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
func buildPush(ctx context.Context, t simTarget, plain []byte, timestamp, nonce string) (*http.Request, error) {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("callback URL %q is not an absolute http(s) URL", t.URL)
	}
	q := url.Values{}
	q.Set("signature", wechat.Sign(t.Token, timestamp, nonce))
	q.Set("timestamp", timestamp)
	q.Set("nonce", nonce)
	q.Set("openid", t.OpenID)
	body := plain
	if t.Crypter != nil {
		enc, err := t.Crypter.Encrypt(plain)
		if err != nil {
			return nil, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wechat.Sign(t.Token, timestamp, nonce, enc))
		var b strings.Builder
		b.WriteString("<xml>")
		writeCDATA(&b, "ToUserName", t.Account)
		writeCDATA(&b, "Encrypt", enc)
		b.WriteString("</xml>")
		body = []byte(b.String())
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0 (wxoa sim)")
	return req, nil
}

// simUser is one simulated follower talking to a callback through
// simTarget. It is not safe for concurrent use: a conversation is a
// sequence.
type simUser struct {
	target simTarget
	http   *http.Client
	now    func() time.Time

	lastCreate int64
	last       []byte // the last plaintext body, so that /retry is byte-identical
}

// simResult is what came back for one push.
type simResult struct {
	Reply   simReply
	Elapsed time.Duration
}

func newSimUser(t simTarget, client *http.Client, now func() time.Time) *simUser {
	return &simUser{target: t, http: client, now: now}
}

// Send pushes m with a fresh MsgId and CreateTime and decodes the reply.
func (u *simUser) Send(ctx context.Context, m simMessage) (simResult, error) {
	// WeChat deduplicates events by sender and CreateTime, so two clicks in
	// the same second would look like a retry: keep CreateTime increasing.
	created := max(u.now().Unix(), u.lastCreate+1)
	u.lastCreate = created
	u.last = m.xml(u.target.Account, u.target.OpenID, created, rand.Int64N(1<<62)+1)
	return u.push(ctx, u.last)
}

// Retry sends the last message again with the same MsgId and CreateTime
// and a fresh nonce and timestamp, as WeChat does when no answer came.
func (u *simUser) Retry(ctx context.Context) (simResult, error) {
	if u.last == nil {
		return simResult{}, errors.New("nothing to retry yet")
	}
	return u.push(ctx, u.last)
}

func (u *simUser) push(ctx context.Context, plain []byte) (simResult, error) {
	ts := strconv.FormatInt(u.now().Unix(), 10)
	nonce := strconv.FormatInt(rand.Int64N(9e9)+1e9, 10)
	req, err := buildPush(ctx, u.target, plain, ts, nonce)
	if err != nil {
		return simResult{}, err
	}
	start := time.Now()
	resp, err := u.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text carries the signed query
			err = ue.Err
		}
		return simResult{}, fmt.Errorf("POST %s: %w", u.target.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	elapsed := time.Since(start)
	if err != nil {
		return simResult{}, fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return simResult{}, &simHTTPError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	r, err := decodeReply(u.target, body)
	if err != nil {
		return simResult{}, err
	}
	return simResult{Reply: r, Elapsed: elapsed}, nil
}

// simHTTPError is a callback that answered something other than 200: WeChat
// would show the user "该公众号暂时无法提供服务".
type simHTTPError struct {
	Status int
	Body   string
}

func (e *simHTTPError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}
