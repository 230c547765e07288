package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
)

// Sentinels that callers branch on with errors.Is. An *APIError matches the
// sentinel its errcode belongs to on its Platform: the same number means
// different things on WeChat and on WeCom (see Platform).
var (
	// ErrTokenInvalid: the access_token used was invalid, expired or not the
	// latest (WeChat: 40001, 40014, 42001; WeCom: 40014, 42001). The fix is
	// a compare-and-refresh.
	ErrTokenInvalid = errors.New("wechat: access token invalid or expired")
	// ErrBadCredentials: the appid or secret is wrong (WeChat: 40013, 40125,
	// 41002, 41004; WeCom: 40001, 40013, 40091, 41002, 41004).
	ErrBadCredentials = errors.New("wechat: appid or secret rejected")
	// ErrIPNotWhitelisted: the caller's IP is not in the account's whitelist
	// (WeChat: 40164; WeCom: 60020, the application's 企业可信IP).
	ErrIPNotWhitelisted = errors.New("wechat: caller IP not whitelisted")
	// ErrQuotaExceeded: the API quota is used up (45009 on both: WeChat's
	// daily quota, WeCom's call-frequency limit).
	ErrQuotaExceeded = errors.New("wechat: daily API quota exceeded")
	// ErrSystemBusy: WeChat asked to retry later (-1).
	ErrSystemBusy = errors.New("wechat: system busy")
)

// Platform is the API an errcode comes from. Official Accounts and Mini
// Programs share api.weixin.qq.com and one table of errcodes; WeCom
// (企业微信, qyapi.weixin.qq.com) has its own, in which 40001 is a wrong
// secret, not a stale token.
type Platform uint8

const (
	// PlatformWeChat is api.weixin.qq.com: Official Accounts and Mini
	// Programs. The zero value.
	// https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
	PlatformWeChat Platform = iota
	// PlatformWeCom is qyapi.weixin.qq.com: a WeCom application.
	// https://developer.work.weixin.qq.com/document/path/96213
	PlatformWeCom
)

// String names the platform as errors and logs do: "wechat" or "wecom".
func (p Platform) String() string {
	if p == PlatformWeCom {
		return "wecom"
	}
	return "wechat"
}

// APIError is a non-zero errcode answered by a WeChat or WeCom API. Endpoint
// is the path only (never the URL, whose query carries secrets and tokens).
// Platform says which table Code is read in; the zero value is WeChat's.
type APIError struct {
	Code     int
	Msg      string
	Endpoint string
	Platform Platform
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: errcode %d", e.Platform, e.Endpoint, e.Code)
	if m := e.Platform.CodeMeaning(e.Code); m != "" {
		s += " (" + m + ")"
	}
	if errors.Is(e, ErrIPNotWhitelisted) {
		if ip := e.IP(); ip != "" {
			s += ": add " + ip + " to " + whitelistPlace[e.Platform]
		}
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// whitelistPlace is where an operator adds an address the platform refused.
var whitelistPlace = map[Platform]string{
	PlatformWeChat: "the IP whitelist (公众号后台 → 设置与开发 → 基本配置 → IP白名单)",
	PlatformWeCom:  "the application's trusted IPs (管理后台 → 应用管理 → the application → 企业可信IP)",
}

// Is maps errcodes onto the package's sentinels, by the error's platform.
// It compares target with ==, never hashes it: errors.Is passes any error
// here, and a map lookup with an unhashable one (a slice type) panics.
func (e *APIError) Is(target error) bool {
	for _, s := range sentinelCodes[e.Platform] {
		if s.err == target {
			return slices.Contains(s.codes, e.Code)
		}
	}
	return false
}

// sentinelCodes lists, per platform, the errcodes each sentinel stands for.
// WeCom: https://developer.work.weixin.qq.com/document/path/96213 (40001
// 不合法的secret参数, 40014 不合法的access_token, 42001 access_token已过期,
// 60020 访问ip不在白名单之中, 45009 接口调用超过限制).
var sentinelCodes = map[Platform][]struct {
	err   error
	codes []int
}{
	PlatformWeChat: {
		{ErrTokenInvalid, []int{40001, 40014, 42001}},
		{ErrBadCredentials, []int{40013, 40125, 41002, 41004}},
		{ErrIPNotWhitelisted, []int{40164}},
		{ErrQuotaExceeded, []int{45009}},
		{ErrSystemBusy, []int{-1}},
	},
	PlatformWeCom: {
		{ErrTokenInvalid, []int{40014, 42001}},
		{ErrBadCredentials, []int{40001, 40013, 40091, 41002, 41004}},
		{ErrIPNotWhitelisted, []int{60020}},
		{ErrQuotaExceeded, []int{45009}},
		{ErrSystemBusy, []int{-1}},
	},
}

var ipInMsg = regexp.MustCompile(`\b(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+)\b`)

// IP extracts the caller's address from an IP-whitelist errmsg: WeChat's
// "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: ..." or
// WeCom's "not allow to access from your ip, hint: [...], from ip: 1.2.3.4, ...".
func (e *APIError) IP() string {
	return ipInMsg.FindString(e.Msg)
}

// CodeMeaning returns what a WeChat errcode means and what to do about it,
// or "". For a WeCom errcode use PlatformWeCom.CodeMeaning.
func CodeMeaning(code int) string { return PlatformWeChat.CodeMeaning(code) }

// CodeMeaning returns what code means on platform p and what to do about
// it, or "".
func (p Platform) CodeMeaning(code int) string {
	if p == PlatformWeCom {
		return weComCodeMeanings[code]
	}
	return codeMeanings[code]
}

// CheckResponse returns an *APIError when body is a WeChat JSON answer with a
// non-zero errcode, and nil otherwise (including for bodies that are not JSON
// objects: the caller decodes those itself).
func CheckResponse(endpoint string, body []byte) error {
	return PlatformWeChat.CheckResponse(endpoint, body)
}

// CheckResponse is the package's CheckResponse for an answer of platform p:
// the *APIError it returns reads its errcode in p's table.
func (p Platform) CheckResponse(endpoint string, body []byte) error {
	var r struct {
		Code int    `json:"errcode"`
		Msg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &r) != nil || r.Code == 0 {
		return nil
	}
	return &APIError{Code: r.Code, Msg: r.Msg, Endpoint: endpoint, Platform: p}
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
