package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// tokenFile is TOKEN_STORE's path in vars.
func tokenFile(vars map[string]string) string {
	return strings.TrimPrefix(vars["TOKEN_STORE"], "file:")
}

// tokenAnswer is /api/token's and /api/token/refresh's body.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (p *proc) tokenAnswer(t *testing.T, method, path, body string) tokenAnswer {
	t.Helper()
	code, b, err := p.do(method, path, "Bearer "+e2eAPIKey, body)
	var a tokenAnswer
	if err != nil || code != 200 || json.Unmarshal([]byte(b), &a) != nil || a.AccessToken == "" {
		t.Fatalf("%s %s %s = %d %s, %v\n%s", p.name, method, path, code, b, err, p.logs)
	}
	return a
}

// The odd token files against the real binary: the process reads
// them as no token, stays small, logs one line, answers /api/token and a
// forced refresh at once, replaces the file, and /healthz says ok after.
func TestE2EOddTokenFile(t *testing.T) {
	bin := buildBinary(t) // no race detector: its shadow memory would swamp RSS
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"500 MB sparse file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 500<<20); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to /dev/zero", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"FIFO", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			vars := e2eVars(t, fake)
			path := tokenFile(vars)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tt.make(t, path)
			p := startBinary(t, "wxoa", bin, vars)
			first := p.tokenAnswer(t, "GET", "/api/token", "")
			forced := p.tokenAnswer(t, "POST", "/api/token/refresh", "")
			if forced.AccessToken == first.AccessToken {
				t.Errorf("the forced refresh answered the old token")
			}
			rss := p.rss(t)
			t.Logf("RSS %d MiB after reading past the %s", rss>>20, tt.name)
			if rss > 100<<20 {
				t.Errorf("RSS = %d MiB; want well under 100 MiB (a token record is under 1 KiB)", rss>>20)
			}
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Size() > 4<<10 {
				t.Errorf("token file after the refresh = %v, %v; want a small regular file", fi, err)
			}
			waitFor(t, "/healthz to say ok", func() bool { return p.health() == "ok" })
			// The log is written in batches: wait for the line, then count.
			const line = "treating it as empty"
			waitFor(t, "the log line about the token file", func() bool { return strings.Contains(p.logs.String(), line) })
			if n := strings.Count(p.logs.String(), line); n != 1 {
				t.Errorf("%d log lines say the token file is unusable; want 1:\n%s", n, p.logs.String())
			}
		})
	}
}

var refreshedAt = regexp.MustCompile(`msg="token refreshed".* expires_at=(\S+)`)

// The planted token: fetched_at and expires_at in 2030. It is never
// served, a report of it answers a token WeChat accepts, the file and the
// log hold that token, and after a restart /api/token serves it with an
// honest expires_in.
func TestE2EPlantedFutureToken(t *testing.T) {
	const planted = `{"access_token":"PLANTED","expires_at":"2030-01-01T00:00:00Z","fetched_at":"2030-01-01T00:00:00Z"}`
	plant := func(t *testing.T, path string) {
		tmp := path + ".planting"
		if err := os.WriteFile(tmp, []byte(planted), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	fileToken := func(t *testing.T, path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		var r struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal(b, &r)
		return r.AccessToken
	}
	tests := []struct {
		name    string
		running bool // planted while the process runs, else before it starts
	}{
		{"planted before start", false},
		{"planted while running", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			vars := e2eVars(t, fake)
			path := tokenFile(vars)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if !tt.running {
				plant(t, path)
			}
			p := startProc(t, "A", vars)
			first := p.tokenAnswer(t, "GET", "/api/token", "")
			if tt.running {
				plant(t, path)
				// Asked while the file holds it and after, it is never served.
				waitFor(t, "the planted file to be replaced", func() bool {
					if got := p.tokenAnswer(t, "GET", "/api/token", ""); got.AccessToken == "PLANTED" {
						t.Fatalf("/api/token served the planted token while running (expires_in %d)", got.ExpiresIn)
					}
					v := fileToken(t, path)
					return v != "" && v != "PLANTED"
				})
				if got := p.tokenAnswer(t, "GET", "/api/token", ""); got.AccessToken == "PLANTED" || !fake.Valid(got.AccessToken) {
					t.Errorf("/api/token after the planted file was replaced = %.12s... (valid at WeChat %v)", got.AccessToken, fake.Valid(got.AccessToken))
				}
			}
			if first.AccessToken == "PLANTED" {
				t.Errorf("/api/token served the planted token (expires_in %d)", first.ExpiresIn)
			}
			rep := p.tokenAnswer(t, "POST", "/api/token/refresh", `{"stale_token":"PLANTED"}`)
			if rep.AccessToken == "PLANTED" || !fake.Valid(rep.AccessToken) || rep.ExpiresIn > 7200 {
				t.Errorf("the report of PLANTED answered %.12s... (valid at WeChat %v), expires_in %d; want a valid token, at most 7200",
					rep.AccessToken, fake.Valid(rep.AccessToken), rep.ExpiresIn)
			}
			if v := fileToken(t, path); v != rep.AccessToken {
				t.Errorf("the file holds %.12s...; want the answered token", v)
			}
			// The log is written in batches.
			waitFor(t, "a \"token refreshed\" line", func() bool { return refreshedAt.MatchString(p.logs.String()) })
			for _, m := range refreshedAt.FindAllStringSubmatch(p.logs.String(), -1) {
				if at, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || time.Until(at) > 7200*time.Second {
					t.Errorf("logged \"token refreshed\" with expires_at=%s; want within 7200 s", m[1])
				}
			}

			p.stop(t)
			p2 := startProc(t, "A again", vars)
			again := p2.tokenAnswer(t, "GET", "/api/token", "")
			t.Logf("expires_in: %d first, %d answering the report of PLANTED, %d after a restart", first.ExpiresIn, rep.ExpiresIn, again.ExpiresIn)
			if again.AccessToken != rep.AccessToken || again.ExpiresIn > 7200 || again.ExpiresIn <= 0 {
				t.Errorf("after a restart /api/token = %.12s... expires_in %d; want the same token, expires_in in 1..7200", again.AccessToken, again.ExpiresIn)
			}
		})
	}
}
