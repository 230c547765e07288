package menu

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/wechat"
)

// fakeAPI stands in for the WeChat client; DoFn decides each answer and
// calls counts what reached "upstream".
type fakeAPI struct {
	DoFn func(ctx context.Context, method, path string, in, out any) error

	mu    sync.Mutex
	calls int
}

func (f *fakeAPI) Do(ctx context.Context, method, path string, in, out any) error {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.DoFn == nil {
		return errors.New("fakeAPI: unexpected call")
	}
	return f.DoFn(ctx, method, path, in, out)
}

func (f *fakeAPI) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var _ API = (*fakeAPI)(nil)

type request struct {
	method, path string
	body         string // in, as JSON; "" when in is nil
	ctxValue     any
}

type ctxKey struct{}

// recordingAPI behaves like a lenient real client: it records the request,
// then returns err or decodes reply into out without looking at errcode.
func recordingAPI(t *testing.T, reply string, err error) (*fakeAPI, *request) {
	t.Helper()
	var got request
	return &fakeAPI{DoFn: func(ctx context.Context, method, path string, in, out any) error {
		got = request{method: method, path: path, ctxValue: ctx.Value(ctxKey{})}
		if in != nil {
			b, mErr := json.Marshal(in)
			if mErr != nil {
				t.Errorf("json.Marshal(in) = %v", mErr)
			}
			got.body = string(b)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(reply), out)
	}}, &got
}

func TestPushInvalidMakesNoCall(t *testing.T) {
	tests := []struct {
		name string
		menu *Menu
		want string
	}{
		{"nil menu", nil, "menu is nil"},
		{"no buttons", &Menu{}, "button: no buttons"},
		{"bad button", menuOf(click("帮助", "")), "button[0]: type click needs key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{DoFn: func(context.Context, string, string, any, any) error { return nil }}
			err := Push(t.Context(), api, tt.menu)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Push(%v) = %v; want an error containing %q", tt.menu, err, tt.want)
			}
			if n := api.Calls(); n != 0 {
				t.Errorf("Push(invalid menu) made %d upstream calls; want 0", n)
			}
		})
	}

	var ve *ValidationError
	err := Push(t.Context(), &fakeAPI{}, menuOf(click("", "K")))
	if !errors.As(err, &ve) || ve.Path != "button[0]" {
		t.Errorf("Push(nameless button) = %v; want a *ValidationError for button[0]", err)
	}
}

func TestPush(t *testing.T) {
	ctx := context.WithValue(t.Context(), ctxKey{}, "caller")
	api, got := recordingAPI(t, `{"errcode":0,"errmsg":"ok"}`, nil)
	m := menuOf(click("帮助", "HELP"), Button{Type: "view", Name: "官网", URL: "https://example.com/?a=1&b=2"})
	if err := Push(ctx, api, m); err != nil {
		t.Fatalf("Push() = %v; want nil", err)
	}
	want := request{
		method:   "POST",
		path:     "/cgi-bin/menu/create",
		body:     `{"button":[{"type":"click","name":"帮助","key":"HELP"},{"type":"view","name":"官网","url":"https://example.com/?a=1\u0026b=2"}]}`,
		ctxValue: "caller",
	}
	if *got != want {
		t.Errorf("Push() sent %+v; want %+v", *got, want)
	}
	if n := api.Calls(); n != 1 {
		t.Errorf("Push() made %d calls; want 1", n)
	}
}

func TestAPIErrors(t *testing.T) {
	valid := menuOf(click("帮助", "HELP"))
	tests := []struct {
		name     string
		call     func(API) error
		reply    string
		doErr    error
		wantCode int
		wantIs   error
		wantText string
	}{
		{"push errcode from Do", func(a API) error { return Push(t.Context(), a, valid) },
			"", &wechat.APIError{Code: 40001, Endpoint: pathCreate}, 40001, wechat.ErrTokenInvalid, "push menu: wechat /cgi-bin/menu/create: errcode 40001"},
		{"push errcode in body", func(a API) error { return Push(t.Context(), a, valid) },
			`{"errcode":40018,"errmsg":"invalid button name size"}`, nil, 40018, nil, "push menu: wechat /cgi-bin/menu/create: errcode 40018"},
		{"push transport error", func(a API) error { return Push(t.Context(), a, valid) },
			"", context.DeadlineExceeded, 0, context.DeadlineExceeded, "push menu: context deadline exceeded"},
		{"fetch no menu", func(a API) error { _, err := Fetch(t.Context(), a); return err },
			`{"errcode":46003,"errmsg":"menu no exist"}`, nil, 46003, nil, "fetch menu: wechat /cgi-bin/menu/get: errcode 46003 (menu does not exist)"},
		{"fetch errcode from Do", func(a API) error { _, err := Fetch(t.Context(), a); return err },
			"", &wechat.APIError{Code: 45009, Endpoint: pathGet}, 45009, wechat.ErrQuotaExceeded, "fetch menu: wechat /cgi-bin/menu/get"},
		{"delete errcode in body", func(a API) error { return Delete(t.Context(), a) },
			`{"errcode":65400,"errmsg":"api unavailable"}`, nil, 65400, nil, "delete menu: wechat /cgi-bin/menu/delete: errcode 65400"},
		{"delete errcode from Do", func(a API) error { return Delete(t.Context(), a) },
			"", &wechat.APIError{Code: 42001, Endpoint: pathDelete}, 42001, wechat.ErrTokenInvalid, "delete menu: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, _ := recordingAPI(t, tt.reply, tt.doErr)
			err := tt.call(api)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("call = %v; want an error containing %q", err, tt.wantText)
			}
			if tt.wantCode != 0 {
				var ae *wechat.APIError
				if !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Errorf("errors.As(%v, *APIError) code = %v; want %d", err, ae, tt.wantCode)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false; want true", err, tt.wantIs)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	reply := `{"menu":{"button":[{"type":"click","name":"帮助","key":"HELP","sub_button":[]}]}}`
	api, got := recordingAPI(t, reply, nil)
	raw, err := Fetch(t.Context(), api)
	if err != nil {
		t.Fatalf("Fetch() = %v; want nil", err)
	}
	if string(raw) != reply {
		t.Errorf("Fetch() = %s; want %s", raw, reply)
	}
	if want := (request{method: "GET", path: "/cgi-bin/menu/get"}); *got != want {
		t.Errorf("Fetch() sent %+v; want %+v", *got, want)
	}
}

func TestDelete(t *testing.T) {
	api, got := recordingAPI(t, `{"errcode":0,"errmsg":"ok"}`, nil)
	if err := Delete(t.Context(), api); err != nil {
		t.Fatalf("Delete() = %v; want nil", err)
	}
	if want := (request{method: "GET", path: "/cgi-bin/menu/delete"}); *got != want {
		t.Errorf("Delete() sent %+v; want %+v", *got, want)
	}
}

func TestNilAPI(t *testing.T) {
	if err := Push(t.Context(), nil, menuOf(click("a", "K"))); err == nil {
		t.Errorf("Push(nil API) = nil; want an error")
	}
	if _, err := Fetch(t.Context(), nil); err == nil {
		t.Errorf("Fetch(nil API) = nil; want an error")
	}
	if err := Delete(t.Context(), nil); err == nil {
		t.Errorf("Delete(nil API) = nil; want an error")
	}
}
