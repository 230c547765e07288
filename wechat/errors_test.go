package wechat

import (
	"errors"
	"strings"
	"testing"
)

// The same errcode is a different sentinel on WeChat and on WeCom: above
// all 40001, a stale token on one and a wrong secret on the other.
func TestAPIErrorIsByPlatform(t *testing.T) {
	sentinels := []error{ErrTokenInvalid, ErrBadCredentials, ErrIPNotWhitelisted, ErrQuotaExceeded, ErrSystemBusy}
	tests := []struct {
		platform Platform
		code     int
		want     error // nil: matches no sentinel
	}{
		{PlatformWeChat, 40001, ErrTokenInvalid},
		{PlatformWeChat, 40014, ErrTokenInvalid},
		{PlatformWeChat, 42001, ErrTokenInvalid},
		{PlatformWeChat, 40013, ErrBadCredentials},
		{PlatformWeChat, 40125, ErrBadCredentials},
		{PlatformWeChat, 41002, ErrBadCredentials},
		{PlatformWeChat, 41004, ErrBadCredentials},
		{PlatformWeChat, 40164, ErrIPNotWhitelisted},
		{PlatformWeChat, 60020, nil},
		{PlatformWeChat, 45009, ErrQuotaExceeded},
		{PlatformWeChat, -1, ErrSystemBusy},
		{PlatformWeChat, 45015, nil},

		{PlatformWeCom, 40001, ErrBadCredentials},
		{PlatformWeCom, 40014, ErrTokenInvalid},
		{PlatformWeCom, 42001, ErrTokenInvalid},
		{PlatformWeCom, 40013, ErrBadCredentials},
		{PlatformWeCom, 40091, ErrBadCredentials},
		{PlatformWeCom, 41002, ErrBadCredentials},
		{PlatformWeCom, 41004, ErrBadCredentials},
		{PlatformWeCom, 40125, nil},
		{PlatformWeCom, 60020, ErrIPNotWhitelisted},
		{PlatformWeCom, 40164, nil},
		{PlatformWeCom, 45009, ErrQuotaExceeded},
		{PlatformWeCom, -1, ErrSystemBusy},
		{PlatformWeCom, 81013, nil},
	}
	for _, tt := range tests {
		err := error(&APIError{Code: tt.code, Endpoint: "/x", Platform: tt.platform})
		for _, s := range sentinels {
			if got, want := errors.Is(err, s), s == tt.want; got != want {
				t.Errorf("errors.Is(%s errcode %d, %v) = %v; want %v", tt.platform, tt.code, s, got, want)
			}
		}
	}
}

func TestCodeMeaningByPlatform(t *testing.T) {
	tests := []struct {
		platform Platform
		code     int
		want     string // a part of the meaning; "" means none
	}{
		{PlatformWeChat, 40001, "access_token invalid"},
		{PlatformWeCom, 40001, "invalid secret"},
		{PlatformWeChat, 40013, "WECHAT_APP_ID"},
		{PlatformWeCom, 40013, "corp_id"},
		{PlatformWeCom, 60020, "trusted IPs"},
		{PlatformWeChat, 60020, ""},
		{PlatformWeCom, 45009, "limit"},
		{PlatformWeChat, 12345, ""},
	}
	for _, tt := range tests {
		got := tt.platform.CodeMeaning(tt.code)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s.CodeMeaning(%d) = %q; want %q in it", tt.platform, tt.code, got, tt.want)
		}
	}
	if CodeMeaning(40001) != PlatformWeChat.CodeMeaning(40001) {
		t.Errorf("CodeMeaning(40001) = %q; want WeChat's meaning", CodeMeaning(40001))
	}
}

func TestCheckResponseByPlatform(t *testing.T) {
	tests := []struct {
		name     string
		platform Platform
		body     string
		wantCode int // 0: no error
		wantIs   error
		wantText []string
	}{
		{"ok", PlatformWeCom, `{"errcode":0,"errmsg":"ok","access_token":"T"}`, 0, nil, nil},
		{"not json", PlatformWeCom, `<html>`, 0, nil, nil},
		{"wechat stale token", PlatformWeChat, `{"errcode":40001,"errmsg":"invalid credential"}`, 40001, ErrTokenInvalid,
			[]string{"wechat /cgi-bin/x: errcode 40001"}},
		{"wecom bad secret", PlatformWeCom, `{"errcode":40001,"errmsg":"invalid credential, hint: [1], more info at https://open.work.weixin.qq.com/devtool/query?e=40001"}`,
			40001, ErrBadCredentials, []string{"wecom /cgi-bin/x: errcode 40001", "corp_secret"}},
		{"wecom ip", PlatformWeCom, `{"errcode":60020,"errmsg":"not allow to access from your ip, hint: [1655882753557010848204971], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=60020"}`,
			60020, ErrIPNotWhitelisted, []string{"add 203.0.113.7 to the application's trusted IPs"}},
		{"wechat ip", PlatformWeChat, `{"errcode":40164,"errmsg":"invalid ip 198.51.100.4 ipv6 ::ffff:198.51.100.4, not in whitelist rid: 1"}`,
			40164, ErrIPNotWhitelisted, []string{"add 198.51.100.4 to the IP whitelist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.platform.CheckResponse("/cgi-bin/x", []byte(tt.body))
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("CheckResponse(%s) = %v; want nil", tt.body, err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Platform != tt.platform || !errors.Is(err, tt.wantIs) {
				t.Fatalf("CheckResponse(%s) = %#v; want errcode %d of %s matching %v", tt.body, err, tt.wantCode, tt.platform, tt.wantIs)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q; want %q in it", err, w)
				}
			}
		})
	}
}

// sliceErr is an error of an uncomparable type, as validator's
// ValidationErrors is: errors.Is may hand any error to APIError.Is.
type sliceErr []string

func (sliceErr) Error() string { return "slice error" }

func TestAPIErrorIsUncomparableTarget(t *testing.T) {
	e := &APIError{Code: 40001, Endpoint: "token", Platform: PlatformWeChat}
	if errors.Is(e, sliceErr{"x"}) {
		t.Error("an APIError is a slice-typed error")
	}
	if !errors.Is(e, ErrTokenInvalid) {
		t.Error("errcode 40001 on WeChat is not ErrTokenInvalid")
	}
}
