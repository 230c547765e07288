package handlers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/wechat/wechattest"
)

// presented is what failing clients send as key or secret: it must never
// reach a log line.
const presented = "presented-SECRET-value"

// limitRig is a router with the token API on, a clock and a log to inspect.
type limitRig struct {
	h     http.Handler
	clock *wechattest.Clock
	logs  *logtest.Buffer
}

func newLimitRig(t *testing.T, mods ...func(*Deps)) *limitRig {
	t.Helper()
	r := &limitRig{clock: wechattest.NewClock(fixedNow), logs: &logtest.Buffer{}}
	d := Deps{
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Now: r.clock.Now, APIKey: testAPIKey,
		Accounts: accounts(t, testAcct(func(a *Account) { a.Tokens = newTokensStub("TOK") })),
	}
	for _, m := range mods {
		m(&d)
	}
	h, err := NewRouter(d)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

// surface is one way to authenticate: req builds a request with the right
// credentials or with presented ones.
type surface struct {
	name string
	req  func(right bool) *http.Request
}

var surfaces = []surface{
	{"bearer", func(right bool) *http.Request {
		r := httptest.NewRequest("GET", "/api/token", nil)
		r.Header.Set("Authorization", "Bearer "+pick(right, testAPIKey, presented))
		return r
	}},
	{"classic drop-in", func(right bool) *http.Request {
		q := url.Values{"grant_type": {"client_credential"}, "appid": {"wxapp"}, "secret": {pick(right, "appsecret", presented)}}
		return httptest.NewRequest("GET", "/cgi-bin/token?"+q.Encode(), nil)
	}},
	{"stable drop-in", func(right bool) *http.Request {
		b, _ := json.Marshal(map[string]string{"grant_type": "client_credential", "appid": pick(right, "wxapp", presented), "secret": "appsecret"})
		return httptest.NewRequest("POST", "/cgi-bin/stable_token", strings.NewReader(string(b)))
	}},
}

func pick(right bool, yes, no string) string {
	if right {
		return yes
	}
	return no
}

// send serves req as coming from addr (host:port), with xff as its
// X-Forwarded-For when not empty, and classifies the answer as "ok",
// "failed" or "refused"; refusals also return Retry-After.
func (r *limitRig) send(t *testing.T, addr, xff string, req *http.Request) (outcome, retryAfter string) {
	t.Helper()
	req.RemoteAddr = addr
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
		ErrCode     int    `json:"errcode"`
		Error       string `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	switch {
	case rec.Code == 200 && body.AccessToken == "TOK":
		return "ok", ""
	case rec.Code == 401, rec.Code == 200 && (body.ErrCode == 40125 || body.ErrCode == 40013):
		return "failed", ""
	case rec.Code == 429 && body.Error != "", rec.Code == 200 && body.ErrCode == 45011:
		return "refused", rec.Header().Get("Retry-After")
	}
	t.Fatalf("%s %s from %s = %d %s; want ok, failed or refused", req.Method, req.URL.Path, addr, rec.Code, rec.Body)
	return "", ""
}

func TestAuthLimit(t *testing.T) {
	const a, b = "203.0.113.9:4001", "198.51.100.4:4002"
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			r := newLimitRig(t)
			steps := []struct {
				name      string
				advance   time.Duration
				addr      string
				right     bool
				want      string
				wantRetry string
			}{
				{"1st failure", 0, a, false, "failed", ""},
				{"10th failure", 0, a, false, "failed", ""}, // 8 more run in between
				{"refused with the right credentials", 0, a, true, "refused", "6"},
				{"refused with wrong ones", 0, a, false, "refused", "6"},
				{"another client succeeds", 0, b, true, "ok", ""},
				{"another client may fail", 0, b, false, "failed", ""},
				{"still refused 2s on", 2 * time.Second, a, true, "refused", "4"},
				{"one failure refilled", 4 * time.Second, a, true, "ok", ""},
				{"success takes no token", 0, a, true, "ok", ""},
				{"the refilled failure", 0, a, false, "failed", ""},
				{"refused again", 0, a, true, "refused", "6"},
			}
			for i, st := range steps {
				r.clock.Advance(st.advance)
				if i == 1 {
					for range 8 {
						r.send(t, a, "", sf.req(false))
					}
				}
				got, retry := r.send(t, st.addr, "", sf.req(st.right))
				if got != st.want || retry != st.wantRetry {
					t.Fatalf("%s: answer = %s (Retry-After %q); want %s (%q)", st.name, got, retry, st.want, st.wantRetry)
				}
				// The limit is per client, not per endpoint.
				if st.want == "refused" {
					for _, other := range surfaces {
						if got, _ := r.send(t, st.addr, "", other.req(true)); got != "refused" {
							t.Errorf("%s: %s with the right credentials = %s; want refused", st.name, other.name, got)
						}
					}
				}
			}
			logs := r.logs.String()
			if strings.Contains(logs, presented) {
				t.Errorf("log shows the presented credential:\n%s", logs)
			}
			var failedA, failedB, refusing int
			for _, line := range strings.Split(logs, "\n") {
				switch {
				case strings.Contains(line, `msg="authentication failed"`) && strings.Contains(line, "level=WARN"):
					failedA += strings.Count(line, "client=203.0.113.9 ")
					failedB += strings.Count(line, "client=198.51.100.4 ")
				case strings.Contains(line, "refusing client"):
					refusing++
				}
			}
			// One line per failure; refusals of a within a minute, one line.
			if failedA != 11 || failedB != 1 || refusing != 1 {
				t.Errorf("log has %d, %d failure lines for a, b and %d refusal lines; want 11, 1 and 1:\n%s", failedA, failedB, refusing, logs)
			}
		})
	}
}

// TestAuthLimitRefusalLog checks that a refused client costs one log line
// a minute however often it tries.
func TestAuthLimitRefusalLog(t *testing.T) {
	r := newLimitRig(t, func(d *Deps) { d.AuthLimit = AuthLimit{Burst: 2, Refill: time.Hour} })
	const addr = "203.0.113.50:1"
	for range 2 {
		r.send(t, addr, "", surfaces[0].req(false))
	}
	minutes := []struct {
		tries        int
		wantRefused  string // the count in that minute's line
		wantRetryEnd string
	}{
		{5, "refused=1", "3600"}, // the line comes with the first refusal
		{3, "refused=5", "3540"}, // the four after it and the first now
	}
	for i, m := range minutes {
		var retry string
		for range m.tries {
			var got string
			got, retry = r.send(t, addr, "", surfaces[i%len(surfaces)].req(true))
			if got != "refused" {
				t.Fatalf("minute %d: answer = %s; want refused", i, got)
			}
		}
		if retry != m.wantRetryEnd {
			t.Errorf("minute %d: Retry-After = %s; want %s", i, retry, m.wantRetryEnd)
		}
		lines := strings.Count(r.logs.String(), "refusing client")
		if lines != i+1 || !strings.Contains(r.logs.String(), m.wantRefused) {
			t.Errorf("minute %d: %d refusal lines; want %d with %s:\n%s", i, lines, i+1, m.wantRefused, r.logs)
		}
		r.clock.Advance(time.Minute)
	}
}

// TestAuthLimitFailureLog checks that failures spread over many addresses,
// each within its limit, cost a paced number of log lines rather than one
// each, and that the first ones are still told.
func TestAuthLimitFailureLog(t *testing.T) {
	const clients = 1000
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			r := newLimitRig(t)
			for i := range clients {
				addr := fmt.Sprintf("10.0.%d.%d:1", i/250, i%250+1)
				if got, _ := r.send(t, addr, "", sf.req(false)); got != "failed" {
					t.Fatalf("failure from %s = %s; want failed", addr, got)
				}
			}
			logs := r.logs.String()
			lines := strings.Count(logs, `msg="authentication failed"`)
			if lines < failureLinesFirst || lines >= clients {
				t.Errorf("%d failures logged %d lines; want at least %d and fewer than one per failure", clients, lines, failureLinesFirst)
			}
			for i := range failureLinesFirst {
				if want := fmt.Sprintf("client=10.0.0.%d ", i+1); !strings.Contains(logs, want) {
					t.Errorf("log lacks the failure of %s, one of the first %d", want, failureLinesFirst)
				}
			}
		})
	}
}
