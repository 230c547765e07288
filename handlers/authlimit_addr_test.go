package handlers

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"wxoa/wechat/wechattest"
)

// TestAuthLimitClientAddress checks whose address a failure counts against:
// X-Forwarded-For only names the client when a trusted proxy sent it, else
// a client could dodge its limit by making up a new address every time.
func TestAuthLimitClientAddress(t *testing.T) {
	tests := []struct {
		name       string
		trusted    []string
		peer       string
		wantLast   string // answer to the right credentials after 11 failures
		wantClient string // in the failure lines
		notClient  string // in no failure line
	}{
		{"no trusted proxies: header ignored", nil, "192.0.2.1:5000", "refused", "client=192.0.2.1 ", "client=198.51.100."},
		{"from a trusted proxy: header honoured", []string{"192.0.2.0/24"}, "192.0.2.1:5000", "ok", "client=198.51.100.11 ", "client=192.0.2.1 "},
		{"trusted by IP", []string{"192.0.2.1", "::1"}, "192.0.2.1:5000", "ok", "client=198.51.100.3 ", "client=192.0.2.1 "},
		{"from an untrusted peer: header ignored", []string{"10.0.0.0/8"}, "192.0.2.1:5000", "refused", "client=192.0.2.1 ", "client=198.51.100."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLimitRig(t, func(d *Deps) { d.TrustedProxies = tt.trusted })
			for i := range 11 {
				sf := surfaces[i%len(surfaces)]
				r.send(t, tt.peer, fmt.Sprintf("198.51.100.%d", i+1), sf.req(false))
			}
			if got, _ := r.send(t, tt.peer, "198.51.100.1", surfaces[0].req(true)); got != tt.wantLast {
				t.Errorf("right credentials after 11 failures from distinct forwarded addresses = %s; want %s", got, tt.wantLast)
			}
			logs := r.logs.String()
			if !strings.Contains(logs, tt.wantClient) || strings.Contains(logs, tt.notClient) {
				t.Errorf("log = %s; want %q in it and no %q", logs, tt.wantClient, tt.notClient)
			}
		})
	}
}

func TestTrustedProxiesInvalid(t *testing.T) {
	for _, bad := range [][]string{{"proxy.local"}, {"10.0.0.0/33"}, {"192.0.2.1", "300.1.1.1"}} {
		_, err := NewRouter(Deps{Accounts: accounts(t, testAcct()), TrustedProxies: bad})
		if err == nil || !strings.Contains(err.Error(), "trusted proxies") {
			t.Errorf("NewRouter(TrustedProxies: %q) = %v; want a trusted proxies error", bad, err)
		}
	}
}

// TestAuthLimitForgetsLeastRecent checks the eviction order through the
// router: the client that failed longest ago is forgotten first.
func TestAuthLimitForgetsLeastRecent(t *testing.T) {
	r := newLimitRig(t, func(d *Deps) { d.AuthLimit = AuthLimit{Burst: 1, Clients: 2} })
	for _, addr := range []string{"203.0.113.1:1", "203.0.113.2:1", "203.0.113.3:1"} {
		if got, _ := r.send(t, addr, "", surfaces[1].req(false)); got != "failed" {
			t.Fatalf("first failure from %s = %s; want failed", addr, got)
		}
	}
	for _, tt := range []struct{ addr, want string }{
		{"203.0.113.1:1", "ok"}, // forgotten when the third client came
		{"203.0.113.2:1", "refused"},
		{"203.0.113.3:1", "refused"},
	} {
		if got, _ := r.send(t, tt.addr, "", surfaces[1].req(true)); got != tt.want {
			t.Errorf("right credentials from %s = %s; want %s", tt.addr, got, tt.want)
		}
	}
}

// TestAuthLimiterBounded checks the memory bound: more failing clients than
// the limiter remembers never grow it past its capacity.
func TestAuthLimiterBounded(t *testing.T) {
	const capacity = 50
	l, err := newAuthLimiter(AuthLimit{Clients: capacity}, wechattest.NewClock(fixedNow).Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 * capacity {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/api/token", nil)
		c.Request.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		l.failed(c, "test")
		if n := l.clients.Len(); n > capacity {
			t.Fatalf("after %d clients: %d remembered; want at most %d", i+1, n, capacity)
		}
	}
	if n := l.clients.Len(); n != capacity {
		t.Errorf("remembered clients = %d; want %d", n, capacity)
	}
}

func TestAuthLimitInvalid(t *testing.T) {
	for _, bad := range []AuthLimit{{Burst: -1}, {Refill: -1}, {Clients: -1}} {
		_, err := NewRouter(Deps{Accounts: accounts(t, testAcct(func(a *Account) { a.Tokens = newTokensStub("T") })), APIKey: testAPIKey, AuthLimit: bad})
		if err == nil {
			t.Errorf("NewRouter(AuthLimit: %+v) = nil; want an error", bad)
		}
	}
}

// TestAuthLimitAddressFamilies checks what a failure counts against: an
// IPv6 client holds a /64 and can pick a new address in it for every
// guess, so the /64 is the client; an IPv4 client is its address, however
// it is spelled (an IPv4-mapped IPv6 address is the same client).
func TestAuthLimitAddressFamilies(t *testing.T) {
	tests := []struct {
		name    string
		failing func(i int) string // the peer of the i-th failure
		then    string             // the peer presenting the right credentials after 11 failures
		want    string
	}{
		{"IPv6 rotating within its /64", func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1) }, "[2001:db8:1:2:ffff::1]:1", "refused"},
		{"IPv6 spelled differently", func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1) }, "[2001:0DB8:0001:0002:0:0:0:1]:1", "refused"},
		{"IPv6 in the next /64", func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1) }, "[2001:db8:1:3::1]:1", "ok"},
		{"IPv4-mapped then IPv4", func(int) string { return "[::ffff:203.0.113.9]:1" }, "203.0.113.9:1", "refused"},
		{"IPv4 then IPv4-mapped", func(int) string { return "203.0.113.9:1" }, "[::ffff:203.0.113.9]:1", "refused"},
		{"IPv4 neighbours are other clients", func(i int) string { return fmt.Sprintf("203.0.113.%d:1", i+1) }, "203.0.113.100:1", "ok"},
	}
	// Directly, gin hands over the peer's address as net.IP prints it;
	// from a trusted proxy, X-Forwarded-For as it was written.
	const proxy = "192.0.2.1"
	for _, tt := range tests {
		for _, viaProxy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/via proxy %t", tt.name, viaProxy), func(t *testing.T) {
				r := newLimitRig(t, func(d *Deps) { d.TrustedProxies = []string{proxy} })
				send := func(client string, sf surface, right bool) string {
					if !viaProxy {
						got, _ := r.send(t, client, "", sf.req(right))
						return got
					}
					host, _, err := net.SplitHostPort(client)
					if err != nil {
						t.Fatal(err)
					}
					got, _ := r.send(t, proxy+":5000", host, sf.req(right))
					return got
				}
				for i := range 11 {
					send(tt.failing(i), surfaces[i%len(surfaces)], false)
				}
				if got := send(tt.then, surfaces[0], true); got != tt.want {
					t.Errorf("right credentials from %s after 11 failures = %s; want %s", tt.then, got, tt.want)
				}
			})
		}
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"0:0:0:0:0:FFFF:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"", ""},                   // gin's answer for an address it cannot read
		{"not-an-ip", "not-an-ip"}, // only a trusted platform header could say this
	}
	for _, tt := range tests {
		if got := clientKey(tt.ip); got != tt.want {
			t.Errorf("clientKey(%q) = %q; want %q", tt.ip, got, tt.want)
		}
	}
}
