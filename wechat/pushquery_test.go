package wechat

import (
	"net/url"
	"testing"
)

func TestParsePushQuery(t *testing.T) {
	tests := []string{
		"signature=abc&timestamp=1700000000&nonce=n1&openid=o1",
		"echostr=a%2Bb%3D%3D&signature=s&timestamp=1&nonce=x",
		"echostr=a+b&nonce=%E4%BD%A0",
		"encrypt_type=aes&msg_signature=m&signature=s",
		"signature=first&signature=second",
		"nonce=%zz&timestamp=",
		"&&=&signature",
		"nonce&nonce=0",               // an empty first value wins, as in url.Values.Get
		"signature=&signature=forged", // found by FuzzParsePushQuery
		"",
	}
	for _, raw := range tests {
		got := ParsePushQuery(raw)
		v, _ := url.ParseQuery(raw)
		want := PushQuery{v.Get("signature"), v.Get("timestamp"), v.Get("nonce"), v.Get("echostr"), v.Get("encrypt_type"), v.Get("msg_signature")}
		if raw == "nonce=%zz&timestamp=" {
			want.Nonce = "%zz" // kept as sent; url.ParseQuery drops the pair
		}
		if got != want {
			t.Errorf("ParsePushQuery(%q) = %+v; want %+v", raw, got, want)
		}
	}
}

func FuzzParsePushQuery(f *testing.F) {
	f.Add("signature=abc&timestamp=1&nonce=n%20x&echostr=a+b")
	f.Fuzz(func(t *testing.T, raw string) {
		got := ParsePushQuery(raw)
		v, err := url.ParseQuery(raw)
		if err != nil {
			return // url.ParseQuery gives up on the whole query; we keep what parses
		}
		want := PushQuery{v.Get("signature"), v.Get("timestamp"), v.Get("nonce"), v.Get("echostr"), v.Get("encrypt_type"), v.Get("msg_signature")}
		if got != want {
			t.Errorf("ParsePushQuery(%q) = %+v; url.ParseQuery says %v", raw, got, v)
		}
	})
}
