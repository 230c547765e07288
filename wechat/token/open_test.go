package token

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		spec, name string
		want       string // in the error
	}{
		{"", "access_token", "memory"},
		{"mysql://root:hunter2@db/x", "access_token", `"redis://`},
		{"redis://user:hunter2@host:notaport/0", "access_token", "redis"},
		{"redis://user:hunter2@host:6379/notadb", "access_token", "redis"},
		{"file:", "access_token", "file path"},
		{"memory", "../etc/passwd", "invalid name"},
		{"hunter2", "access_token", "file:PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, _, err := Open(tt.spec, tt.name, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%q, %q) = %v; want an error mentioning %q", tt.spec, tt.name, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open(%q) error leaks the password: %v", tt.spec, err)
			}
		})
	}
}

func TestOpenFileNamesSiblingPerToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wxoa")
	spec := "file:" + filepath.Join(dir, "token.json")
	now := time.Now()
	for _, c := range []struct{ name, file string }{
		{"access_token", "token.json"},
		{"jsapi_ticket", "jsapi_ticket.json"},
	} {
		s, closer, err := Open(spec, c.name, nil)
		if err != nil {
			t.Fatalf("Open(%q, %q) = %v", spec, c.name, err)
		}
		defer closer.Close()
		if _, err := s.Save(context.Background(), tok("V-"+c.name, now.Add(time.Hour), now)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil || !strings.Contains(string(b), "V-"+c.name) {
			t.Errorf("Open(%q, %q) wrote %s, %v; want %s holding its token", spec, c.name, b, err, c.file)
		}
	}
}

func TestOpenRedisKeys(t *testing.T) {
	url := RedisURLForTest(t)
	c := redisClient(t, url)
	now := time.Now()
	for _, name := range []string{"access_token", "jsapi_ticket"} {
		s, closer, err := Open(url, name, nil)
		if err != nil {
			t.Fatalf("Open(redis, %q) = %v", name, err)
		}
		if _, err := s.Save(context.Background(), tok("R-"+name, now.Add(time.Hour), now)); err != nil {
			t.Fatal(err)
		}
		closer.Close()
		if v, _ := c.HGet(context.Background(), "wxoa:"+name, "value").Result(); v != "R-"+name {
			t.Errorf("HGET wxoa:%s value = %q; want %q", name, v, "R-"+name)
		}
	}
}
