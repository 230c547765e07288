package sdk

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

type refresherStub struct {
	calls atomic.Int64
	next  string
}

func (r *refresherStub) RefreshIfCurrent(_ context.Context, stale string) (token.Token, error) {
	r.calls.Add(1)
	return token.Token{Value: wechat.Secret(r.next)}, nil
}

func TestTransport(t *testing.T) {
	large := bytes.Repeat([]byte("x"), maxInspect+12345)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		tok := r.URL.Query().Get("access_token")
		switch r.URL.Path {
		case "/large":
			w.Header().Set("Content-Type", "text/plain")
			w.Write(large)
		case "/media":
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, `{"errcode":40001}`)
		default:
			if tok != "NEW" {
				io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
				return
			}
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, `{"errcode":0,"echo":"`+string(b)+`"}`)
		}
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	tests := []struct {
		name      string
		path      string
		next      string
		want      string
		wantLen   int
		hits      int64
		refreshes int64
	}{
		{"rejected token: refresh and one retry", "/cgi-bin/x", "NEW", `"echo":"payload"`, 0, 2, 1},
		{"refresh gives the same token: no retry", "/cgi-bin/x", "OLD", `40001`, 0, 1, 1},
		{"still rejected after the retry: no third try", "/cgi-bin/x", "OTHER", `40001`, 0, 2, 1},
		{"large answer passes whole", "/large", "NEW", "", len(large), 1, 0},
		{"binary answer is not inspected", "/media", "NEW", `40001`, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			ref := &refresherStub{next: tt.next}
			c := &http.Client{Transport: &Transport{APIBase: base, Refresher: ref}}
			resp, err := c.Post("https://api.weixin.qq.com"+tt.path+"?access_token=OLD", "application/json", strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLen > 0 && len(b) != tt.wantLen {
				t.Errorf("body is %d bytes; want %d", len(b), tt.wantLen)
			}
			if !strings.Contains(string(b), tt.want) {
				t.Errorf("body = %.100s; want %s", b, tt.want)
			}
			if hits.Load() != tt.hits || ref.calls.Load() != tt.refreshes {
				t.Errorf("upstream hits %d, refreshes %d; want %d, %d", hits.Load(), ref.calls.Load(), tt.hits, tt.refreshes)
			}
		})
	}
}
