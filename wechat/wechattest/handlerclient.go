package wechattest

import (
	"net/http"
	"net/http/httptest"
)

// HandlerClient returns a client whose requests h serves in-process, through
// an httptest.ResponseRecorder: a Follower can talk to a router under test
// with no listener, and the request reaches h as a server would pass it
// (RequestURI, RemoteAddr 192.0.2.1:1234 as in httptest.NewRequest).
func HandlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close() // a RoundTripper closes the body it was given
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "192.0.2.1:1234"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
