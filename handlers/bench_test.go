package handlers

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"wxoa/reply/rules"
)

// BenchmarkPostText is one plaintext text message through the whole router:
// verify, parse, dedup, rule match, reply. Each iteration has a new MsgId,
// as under real traffic. Run with the shipped rules.
func BenchmarkPostText(b *testing.B) {
	engine, err := rules.Load("")
	if err != nil {
		b.Fatal(err)
	}
	h := newTestRouter(b, routerOpts{rules: engine})
	target := testPath + "?" + signedQuery(fixedNow.Unix(), "benchnonce").Encode()
	head := []byte("<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser0001]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>")
	tail := []byte("</MsgId></xml>")
	body := make([]byte, 0, 512)
	rec := &discardWriter{h: http.Header{}}
	id := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body = append(strconv.AppendInt(append(body[:0], head...), id+int64(i), 10), tail...)
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		rec.status = 0
		h.ServeHTTP(rec, req)
		if rec.status != http.StatusOK {
			b.Fatalf("status %d", rec.status)
		}
	}
}

// discardWriter keeps the benchmark from measuring a recorder's buffer.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	return io.Discard.Write(p)
}
func (d *discardWriter) WriteHeader(s int) { d.status = s }

// BenchmarkTokenAPI is GET /api/token through the whole router (bearer
// check, access log, rendering) with the request reused, so only the
// router's own cost is measured.
func BenchmarkTokenAPI(b *testing.B) {
	h, err := NewRouter(Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), APIKey: testAPIKey,
		Accounts: accounts(b, testAcct(func(a *Account) { a.Tokens = newTokensStub("ACCESS_TOKEN_VALUE_0123456789") })),
	})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/token", nil)
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}
