package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// Sentinels that callers branch on with errors.Is. An *APIError matches the
// sentinel its errcode belongs to.
var (
	// ErrTokenInvalid: the access_token used was invalid, expired or not the
	// latest (40001, 40014, 42001). The fix is a compare-and-refresh.
	ErrTokenInvalid = errors.New("wechat: access token invalid or expired")
	// ErrBadCredentials: the appid or secret is wrong (40013, 40125, 41002, 41004).
	ErrBadCredentials = errors.New("wechat: appid or secret rejected")
	// ErrIPNotWhitelisted: the caller's IP is not in the account's whitelist (40164).
	ErrIPNotWhitelisted = errors.New("wechat: caller IP not whitelisted")
	// ErrQuotaExceeded: the daily API quota is used up (45009).
	ErrQuotaExceeded = errors.New("wechat: daily API quota exceeded")
	// ErrSystemBusy: WeChat asked to retry later (-1).
	ErrSystemBusy = errors.New("wechat: system busy")
)

// APIError is a non-zero errcode answered by a WeChat API. Endpoint is the
// path only (never the URL, whose query carries secrets and tokens).
type APIError struct {
	Code     int
	Msg      string
	Endpoint string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("wechat %s: errcode %d", e.Endpoint, e.Code)
	if m := CodeMeaning(e.Code); m != "" {
		s += " (" + m + ")"
	}
	if e.Code == 40164 {
		if ip := e.IP(); ip != "" {
			s += ": add " + ip + " to the IP whitelist (公众号后台 → 设置与开发 → 基本配置 → IP白名单)"
		}
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Is maps errcodes onto the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrTokenInvalid:
		return e.Code == 40001 || e.Code == 40014 || e.Code == 42001
	case ErrBadCredentials:
		return e.Code == 40013 || e.Code == 40125 || e.Code == 41002 || e.Code == 41004
	case ErrIPNotWhitelisted:
		return e.Code == 40164
	case ErrQuotaExceeded:
		return e.Code == 45009
	case ErrSystemBusy:
		return e.Code == -1
	}
	return false
}

var ipInMsg = regexp.MustCompile(`\b(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+)\b`)

// IP extracts the caller's address from a 40164 errmsg
// ("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: ...").
func (e *APIError) IP() string {
	return ipInMsg.FindString(e.Msg)
}

// codeMeanings are the errcodes an operator meets most, with what to do.
// https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
var codeMeanings = map[int]string{
	-1:    "system busy, retry later",
	40001: "access_token invalid or not the latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid: check WECHAT_APP_ID",
	40014: "invalid access_token",
	40016: "invalid number of buttons",
	40017: "invalid button type",
	40018: "invalid button name length",
	40019: "invalid button key length",
	40023: "invalid number of sub-buttons",
	40024: "invalid sub-button type",
	40025: "invalid sub-button name length",
	40026: "invalid sub-button key length",
	40027: "invalid sub-button url length",
	40054: "invalid sub-button url domain",
	40055: "invalid button url domain",
	40125: "invalid appsecret: check WECHAT_APP_SECRET (reset it in the console if unsure)",
	40164: "caller IP not in the whitelist",
	40243: "AppSecret frozen",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	42001: "access_token expired",
	43004: "recipient has not followed the account",
	45009: "daily API quota exceeded: wait for the reset at midnight (UTC+8) or clear it in the console",
	45011: "API called too often",
	45015: "reply window closed: the user has not written in the last 48 hours",
	45047: "too many customer-service messages without a user reply",
	46003: "menu does not exist",
	48001: "API not authorized for this account",
	65400: "menu API unavailable: the account uses the personalised-menu mode",
	89503: "the call needs an admin's confirmation",
}

// CodeMeaning returns what an errcode means and what to do about it, or "".
func CodeMeaning(code int) string { return codeMeanings[code] }

// CheckResponse returns an *APIError when body is a WeChat JSON answer with a
// non-zero errcode, and nil otherwise (including for bodies that are not JSON
// objects: the caller decodes those itself).
func CheckResponse(endpoint string, body []byte) error {
	var r struct {
		Code int    `json:"errcode"`
		Msg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &r) != nil || r.Code == 0 {
		return nil
	}
	return &APIError{Code: r.Code, Msg: r.Msg, Endpoint: endpoint}
}

// StripURL drops the *url.Error layers of err (and what wraps them): their
// text quotes the whole URL, and so the secret=, access_token= or key in
// its query. What is left says what went wrong (a refused connection, a
// timeout, a bad character) without the URL; callers name the endpoint
// path themselves.
func StripURL(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return err
}
