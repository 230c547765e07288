package config

import (
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5x", "5x"},
		{"ftp://host/p?key=k", "ftp://host/p"},
		{"ftp://host/p#key=k", "ftp://host/p"},
		{"host/p?a=1#b", "host/p"},
		{"ftp://user:pw@host/p?key=k", "ftp://[REDACTED]@host/p"},
		{"user:pw@host", "[REDACTED]@host"},
		// A "?" before the last "@": a password holding "?" or a query
		// holding "@"; neither may show.
		{"ftp://user:p?w@host/p", "ftp://[REDACTED]"},
		{"ftp://host/p?mail=a@b&key=k", "ftp://[REDACTED]"},
		{"host/p?mail=a@b&key=k", "[REDACTED]"},
	}
	for _, tt := range tests {
		if got := echo(tt.in); got != tt.want {
			t.Errorf("echo(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestErrorsNeverEchoQuery sets each variable to malformed values whose
// query, fragment or password carries a secret, and checks that no error
// shows one.
func TestErrorsNeverEchoQuery(t *testing.T) {
	const secret, password = "SECRETVALUE", "PASSWORDVALUE"
	values := []string{
		"ftp://host/p?key=" + secret,
		"ftp://user:" + password + "@host/p?key=" + secret,
		"ftp://user:" + password + "?x@host/p",
		"ftp://host/p?mail=a@b&key=" + secret,
		"tcp://host:9000/p#key=" + secret,
		"host/p?key=" + secret,
		"//host/p?key=" + secret,
		"http://?key=" + secret,
		"http://[::1/p?key=" + secret,
		"https://host:notaport/p?key=" + secret,
		"https:opaque?key=" + secret,
		"mailto:x?key=" + secret,
		"5x?key=" + secret,
		"?key=" + secret,
		"redis://host/0?dial_timeout=" + secret,
		"redis://user:" + password + "@host:notaport/0?key=" + secret,
		"redis://:" + password + "@host/0?addr=" + secret + "&master_name=m",
		"rediss://host/0?max_retries=" + secret,
		"file:/tmp/x?key=" + secret,
	}
	for _, k := range Variables() {
		for _, v := range values {
			_, err := FromMap(base(k, v))
			if (k == envAPIBase || k == envForwardURL) && err == nil {
				t.Errorf("FromMap(%s=%q) = nil; want an error", k, v)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), password)) {
				t.Errorf("FromMap(%s=%q) = %q; want no query, fragment or password in it", k, v, err)
			}
		}
	}
}
