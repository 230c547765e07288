package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	large := bytes.Repeat([]byte("x"), maxBody+12345)
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
			c := &http.Client{Transport: &Transport{APIBase: base, Refresher: ref, Backoff: time.Millisecond}}
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

type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// The Transport is the one place tokens are added: a request without one
// (our client's, or silenceper's with an empty "access_token=") gets the
// source's; a source that fails stops the call before it leaves.
func TestTransportAddsToken(t *testing.T) {
	var got atomic.Value
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		got.Store(r.URL.RawQuery)
		io.WriteString(w, `{"errcode":0}`)
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	tests := []struct {
		name, url, want string
		source          TokenSource
		wantErr         bool
	}{
		{"no token: the source's", srv.URL + "/cgi-bin/x?type=jsapi", "access_token=MANAGED&type=jsapi",
			tokenFunc(func(context.Context) (string, error) { return "MANAGED", nil }), false},
		{"empty token (the SDK's): the source's", "https://api.weixin.qq.com/cgi-bin/x?access_token=", "access_token=MANAGED",
			tokenFunc(func(context.Context) (string, error) { return "MANAGED", nil }), false},
		{"a token given: kept", srv.URL + "/cgi-bin/x?access_token=GIVEN", "access_token=GIVEN",
			tokenFunc(func(context.Context) (string, error) { return "MANAGED", nil }), false},
		{"no source: as it is", srv.URL + "/cgi-bin/x?a=1", "a=1", nil, false},
		{"source fails: no call", srv.URL + "/cgi-bin/x", "", tokenFunc(func(context.Context) (string, error) { return "", errors.New("no token yet") }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			got.Store("")
			c := &http.Client{Transport: &Transport{APIBase: base, Source: tt.source}}
			resp, err := c.Get(tt.url)
			if tt.wantErr {
				if err == nil || hits.Load() != 0 {
					t.Errorf("Get = %v after %d calls; want an error and no call", err, hits.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if q := got.Load().(string); q != tt.want {
				t.Errorf("query sent = %q; want %q", q, tt.want)
			}
		})
	}
}

// A token refresh is not one of the transient attempts: after it, a busy
// WeChat is still retried.
func TestTransportRefreshThenBusy(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := hits.Add(1); {
		case r.URL.Query().Get("access_token") != "NEW":
			io.WriteString(w, `{"errcode":40001}`)
		case n < 4:
			io.WriteString(w, `{"errcode":-1}`)
		default:
			io.WriteString(w, `{"errcode":0}`)
		}
	}))
	defer srv.Close()
	ref := &refresherStub{next: "NEW"}
	c := &http.Client{Transport: &Transport{Refresher: ref, Backoff: time.Millisecond, MaxAttempts: 3}}
	resp, err := c.Get(srv.URL + "/cgi-bin/x?access_token=OLD")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"errcode":0}` || hits.Load() != 4 || ref.calls.Load() != 1 {
		t.Errorf("answer %s after %d hits, %d refreshes; want success after 4 hits (rejected, busy, busy, ok), 1 refresh", b, hits.Load(), ref.calls.Load())
	}
}
