package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestStripURL(t *testing.T) {
	secretURL := "https://api.weixin.qq.com/cgi-bin/token?secret=S3CR3T&access_token=T0K3N"
	_, parseErr := url.Parse("http://a b.example/?secret=S3CR3T")
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"transport", &url.Error{Op: "Get", URL: secretURL, Err: context.DeadlineExceeded}, "context deadline exceeded", context.DeadlineExceeded},
		{"nested", &url.Error{Op: "Post", URL: secretURL, Err: &url.Error{Op: "Get", URL: secretURL, Err: errors.New("refused")}}, "refused", nil},
		{"wrapped", fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: secretURL, Err: errors.New("eof")}), "eof", nil},
		{"parse", parseErr, "invalid character \" \" in host name", nil},
		{"no url.Error", errors.New("plain"), "plain", nil},
		{"nil", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StripURL(tt.err)
			text := ""
			if got != nil {
				text = got.Error()
			}
			if text != tt.want || strings.Contains(text, "S3CR3T") || (tt.is != nil && !errors.Is(got, tt.is)) {
				t.Errorf("StripURL(%v) = %q; want %q", tt.err, text, tt.want)
			}
		})
	}
}
