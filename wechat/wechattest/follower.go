package wechattest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat"
)

// FollowerConfig is where and how a Follower pushes: the callback URL and
// the account's secrets as configured in WeChat's admin console, and who
// the user is.
type FollowerConfig struct {
	URL     string          // the callback URL; a query is replaced by the push's
	Token   string          // the callback token
	Crypter *wechat.Crypter // nil: plaintext mode; else safe mode
	OpenID  string          // the simulated user (FromUserName)
	Account string          // the account's original id (ToUserName); a WeCom corp id
	// JSON pushes as a Mini Program whose data format is JSON does.
	JSON bool
	// AgentID, if set, pushes as WeCom does to that application: always
	// encrypted (Crypter is required, built with the corp id), with only a
	// msg_signature, and the AgentID in the message.
	AgentID string

	// Client sends the pushes; HandlerClient serves them in-process.
	// Default: a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock of CreateTime and of the signature's timestamp.
	// Default time.Now.
	Now func() time.Time
	// Nonce and MsgID make the push's nonce and each message's MsgId.
	// Default: random.
	Nonce func() string
	MsgID func() int64
}

// Follower is a simulated WeChat user: it renders a Message as WeChat
// would push it, signs it (and in safe mode encrypts it) with
// wechat.SealPush, POSTs it, and reads the answer with wechat.OpenReply,
// checking that it is addressed back to the user. The handler tests, the
// end-to-end tests, `wxoa sim` and `wxoa demo` all talk to the callback
// through one. It is not safe for concurrent use: a conversation is a
// sequence.
type Follower struct {
	cfg        FollowerConfig
	url        url.URL // cfg.URL parsed; each push sets its query
	lastCreate int64
	last       []byte // the last message XML, so that Retry is byte-identical
}

// NewFollower checks cfg and fills in its defaults.
func NewFollower(cfg FollowerConfig) (*Follower, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("callback URL %q is not an absolute http(s) URL", cfg.URL)
	}
	if cfg.AgentID != "" && (cfg.Crypter == nil || cfg.JSON) {
		return nil, errors.New("a WeCom follower needs a Crypter (WeCom always encrypts) and speaks XML")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Nonce == nil {
		cfg.Nonce = func() string { return strconv.FormatInt(rand.Int64N(9e9)+1e9, 10) }
	}
	if cfg.MsgID == nil {
		cfg.MsgID = func() int64 { return rand.Int64N(1<<62) + 1 }
	}
	return &Follower{cfg: cfg, url: *u}, nil
}

// Config returns the configuration, defaults filled in.
func (f *Follower) Config() FollowerConfig { return f.cfg }

// Result is the callback's answer to one push.
type Result struct {
	Reply   wechat.Reply       // nil: "success" or an empty body (no reply)
	Header  wechat.ReplyHeader // the reply's addressing; zero without a reply
	Body    []byte             // the body as received, before any decryption
	Status  int
	Elapsed time.Duration // from sending the request to the end of the body
}

// HTTPError is an answer other than 200, which WeChat would show the user
// as "该公众号暂时无法提供服务".
type HTTPError struct {
	Status int
	Body   string // trimmed
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Send pushes m with a fresh MsgId and CreateTime and reads the reply. On
// an error after the answer arrived (an *HTTPError, a reply that does not
// open) the Result still holds the status and body.
func (f *Follower) Send(ctx context.Context, m Message) (Result, error) {
	// WeChat deduplicates events by sender and CreateTime, so two clicks in
	// the same second would look like a retry: keep CreateTime increasing.
	created := max(f.cfg.Now().Unix(), f.lastCreate+1)
	f.lastCreate = created
	if f.cfg.AgentID != "" {
		m.Fields = append(slices.Clone(m.Fields), [2]string{"AgentID", f.cfg.AgentID})
	}
	if f.cfg.JSON {
		f.last = m.JSON(f.cfg.Account, f.cfg.OpenID, created, f.cfg.MsgID())
	} else {
		f.last = m.XML(f.cfg.Account, f.cfg.OpenID, created, f.cfg.MsgID())
	}
	return f.push(ctx, f.last)
}

// VerifyURL makes the URL check the console makes when the callback URL
// is saved, with echo as the echostr (encrypted for WeCom), and returns
// what the server echoed.
func (f *Follower) VerifyURL(ctx context.Context, echo string) (string, error) {
	ts, nonce := strconv.FormatInt(f.cfg.Now().Unix(), 10), f.cfg.Nonce()
	var q url.Values
	if f.cfg.AgentID != "" {
		var err error
		if q, err = wechat.SealWeComURLCheck(f.cfg.Token, f.cfg.Crypter, echo, ts, nonce); err != nil {
			return "", err
		}
	} else {
		q = url.Values{"signature": {wechat.Sign(f.cfg.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	}
	u := f.url
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", f.cfg.URL, wechat.StripURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &HTTPError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	return string(b), nil
}

// Retry sends the last message again with the same MsgId and CreateTime
// and a fresh timestamp and nonce, as WeChat does when no answer came.
func (f *Follower) Retry(ctx context.Context) (Result, error) {
	if f.last == nil {
		return Result{}, errors.New("nothing to retry yet")
	}
	return f.push(ctx, f.last)
}

// push signs (and maybe encrypts) plain, posts it and reads the answer.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
func (f *Follower) push(ctx context.Context, plain []byte) (Result, error) {
	ts := strconv.FormatInt(f.cfg.Now().Unix(), 10)
	seal := wechat.SealPush
	switch {
	case f.cfg.AgentID != "":
		seal = func(token string, c *wechat.Crypter, _ string, plain []byte, ts, nonce string) (url.Values, []byte, error) {
			return wechat.SealWeComPush(token, c, f.cfg.AgentID, plain, ts, nonce)
		}
	case f.cfg.JSON:
		seal = wechat.SealJSONPush
	}
	q, body, err := seal(f.cfg.Token, f.cfg.Crypter, f.cfg.Account, plain, ts, f.cfg.Nonce())
	if err != nil {
		return Result{}, err
	}
	if f.cfg.AgentID == "" {
		q.Set("openid", f.cfg.OpenID)
	}
	u := f.url
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	if f.cfg.JSON {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "Mozilla/4.0 (wxoa sim)")
	start := time.Now()
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		// The URL's query carries the signature: name the URL without it.
		return Result{}, fmt.Errorf("POST %s: %w", f.cfg.URL, wechat.StripURL(err))
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode}
	res.Body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return res, &HTTPError{Status: resp.StatusCode, Body: strings.TrimSpace(string(res.Body))}
	}
	res.Header, res.Reply, err = f.open(res.Body)
	return res, err
}

// open reads a 200 answer as WeChat does: see wechat.OpenReply; and a
// reply must go back from the account to the user who wrote.
func (f *Follower) open(body []byte) (wechat.ReplyHeader, wechat.Reply, error) {
	h, r, err := wechat.OpenReply(f.cfg.Token, f.cfg.Crypter, body)
	if err != nil || r == nil {
		return h, r, err
	}
	if h.ToUserName != f.cfg.OpenID || h.FromUserName != f.cfg.Account {
		return h, nil, fmt.Errorf("reply goes from %q to %q; want from %q to %q",
			h.FromUserName, h.ToUserName, f.cfg.Account, f.cfg.OpenID)
	}
	return h, r, nil
}
