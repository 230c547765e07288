package wechattest_test

import (
	"net/netip"
	"net/url"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

func TestServerIPLists(t *testing.T) {
	s := wechattest.NewServer(t)
	q := url.Values{"access_token": {classic(t, s).AccessToken}}
	for _, path := range []string{"/cgi-bin/get_api_domain_ip", "/cgi-bin/getcallbackip"} {
		t.Run(path, func(t *testing.T) {
			got := call(t, s, "GET", path, q, nil)
			if got.ErrCode != 0 || len(got.IPList) == 0 {
				t.Fatalf("GET %s = (errcode %d, ip_list %q); want (0, a non-empty list)", path, got.ErrCode, got.IPList)
			}
			for _, ip := range got.IPList {
				if _, err := netip.ParsePrefix(ip); err != nil {
					if _, err := netip.ParseAddr(ip); err != nil {
						t.Errorf("GET %s: ip_list entry %q is neither an address nor a range", path, ip)
					}
				}
			}
			s.FailPath(path, wechattest.FailBusy, 1)
			if got := call(t, s, "GET", path, q, nil); got.ErrCode != -1 || got.IPList != nil {
				t.Errorf("GET %s under FailPath = (errcode %d, ip_list %q); want (-1, none)", path, got.ErrCode, got.IPList)
			}
			if got := s.Calls(path); got != 2 {
				t.Errorf("Calls(%q) = %d; want 2", path, got)
			}
		})
	}
}

func TestFetchElsewhere(t *testing.T) {
	tests := []struct {
		name string
		// ours fetches the token we hold before another system fetches.
		ours      func(t *testing.T, s *wechattest.Server) string
		wantOurs  int // errcode for our token afterwards
		wantCalls int64
	}{
		{"classic token retired at once", func(t *testing.T, s *wechattest.Server) string { return classic(t, s).AccessToken }, 40001, 1},
		{"stable token untouched", func(t *testing.T, s *wechattest.Server) string { return stable(t, s, false).AccessToken }, 46003, 1},
		{"no token of ours", func(*testing.T, *wechattest.Server) string { return "" }, 41001, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = clock.Now })
			ours := tt.ours(t, s)
			other := s.FetchElsewhere()
			if other == "" || other == ours || s.Current() != other {
				t.Fatalf("FetchElsewhere() = %.12q (Current() %.12q); want a new token that is Current()", other, s.Current())
			}
			if got := useToken(t, s, ours); got != tt.wantOurs {
				t.Errorf("our token right after FetchElsewhere = errcode %d; want %d", got, tt.wantOurs)
			}
			if got := useToken(t, s, other); got != 46003 {
				t.Errorf("the other system's token = errcode %d; want 46003 (accepted)", got)
			}
			if got := s.TokenCalls(); got != tt.wantCalls {
				t.Errorf("TokenCalls() = %d; want %d (FetchElsewhere is not our call)", got, tt.wantCalls)
			}
			// Our next classic fetch overlaps with the other system's as usual.
			next := classic(t, s).AccessToken
			clock.Advance(time.Minute)
			if !s.Valid(other) || !s.Valid(next) || s.Current() != next {
				t.Errorf("after our next fetch: Valid(other), Valid(next), Current() == next = %v, %v, %v; want all true within the overlap",
					s.Valid(other), s.Valid(next), s.Current() == next)
			}
		})
	}
}
