package handlers

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"wxoa/handlers/rules"
)

// BenchmarkPostText is one plaintext text message through the whole router:
// verify, parse, dedup, rule match, reply. Each iteration has a new MsgId,
// as under real traffic. Run with the shipped rules.
func BenchmarkPostText(b *testing.B) {
	engine, err := rules.Load("")
	if err != nil {
		b.Fatal(err)
	}
	h := newTestRouter(b, routerOpts{replier: engine})
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
