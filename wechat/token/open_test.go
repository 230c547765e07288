package token

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxoa/internal/redistest"
)

func TestParseSpecRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		spec string
		want string // in the error
	}{
		{"", "memory"},
		{"mysql://root:hunter2@db/x", `"mysql"`},
		{"redis://user:hunter2@host:notaport/0", "redis URL"},
		{"redis://user:hunter2@host:6379/notadb", "database"},
		{"redis://user:hunter2@host:6379/0?bogus=1", "unexpected option"},
		{"rediss://user:hunter2@host:6379/0?master_name=", "master_name"},
		{"file:", "file:PATH"},
		{"file:data/", "file:PATH"},
		{"file:///var/lib/x", "file:PATH"},
		{"hunter2", "file:PATH"},
		{"redis:/nohost", `redis URL has no "//" after "redis:": did you mean redis://nohost?`},
		{"rediss:/:hunter2@nohost:6380/0", "did you mean rediss://xxxxx@nohost:6380/0?"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseSpec(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseSpec(%q) = %v; want an error mentioning %q", tt.spec, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseSpec(%q) error leaks the password: %v", tt.spec, err)
			}
		})
	}
}

func TestParseSpecForms(t *testing.T) {
	tests := []struct{ spec, kind, printed string }{
		{"memory", "memory", "memory"},
		{"file:/var/lib/wxoa/t.json", "file", "file:/var/lib/wxoa/t.json"},
		{"redis://:hunter2@h:6379/1", "redis", "redis://:xxxxx@h:6379/1"},
		{"redis://s1:26379/0?master_name=mymaster", "redis", "redis://s1:26379/0?master_name=mymaster"},
		{"redis://n1:7000?addr=n2:7001&addr=n3:7002", "redis", "redis://n1:7000?addr=n2%3A7001&addr=n3%3A7002"},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.spec)
		if err != nil || string(s.Kind) != tt.kind || s.String() != tt.printed {
			t.Errorf("ParseSpec(%q) = %s %q, %v; want %s %q", tt.spec, s.Kind, s.String(), err, tt.kind, tt.printed)
		}
	}
}

func TestOpenRejectsBadName(t *testing.T) {
	if _, _, err := Open(Spec{Kind: KindMemory}, Options{Name: "../etc/passwd"}); err == nil || !strings.Contains(err.Error(), "invalid name") {
		t.Errorf("Open(name ../etc/passwd) = %v; want an invalid name error", err)
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
		s := mustOpen(t, spec, c.name)
		if _, err := s.Save(context.Background(), tok("V-"+c.name, now.Add(time.Hour), now), Supersede{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil || !strings.Contains(string(b), "V-"+c.name) {
			t.Errorf("Open(%q, %q) wrote %s, %v; want %s holding its token", spec, c.name, b, err, c.file)
		}
	}
}

// Keys carry the appid (two accounts share one Redis) in a hash tag (a
// token's keys share one Cluster slot).
func TestOpenRedisKeys(t *testing.T) {
	url := redistest.URL(t)
	c := redistest.ClientFor(t, url)
	spec, err := ParseSpec(url)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, app := range []string{"wxaaaa", "wxbbbb"} {
		for _, name := range []string{"access_token", "jsapi_ticket"} {
			s, closer, err := Open(spec, Options{Name: name, AppID: app})
			if err != nil {
				t.Fatalf("Open(redis, %q) = %v", name, err)
			}
			if _, err := s.Save(context.Background(), tok("R-"+app+name, now.Add(time.Hour), now), Supersede{}); err != nil {
				t.Fatal(err)
			}
			closer.Close()
			key := "{wxoa:" + app + "}:" + name
			if v, _ := c.HGet(context.Background(), key, "value").Result(); v != "R-"+app+name {
				t.Errorf("HGET %s value = %q; want %q", key, v, "R-"+app+name)
			}
		}
	}
}

// An unreachable Redis at start-up is a warning, never a failure or a stall.
func TestOpenRedisUnreachableWarns(t *testing.T) {
	spec, err := ParseSpec("redis://:hunter2@127.0.0.1:" + strconv.Itoa(redistest.FreePort(t)) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, closer, err := Open(spec, Options{Name: "access_token", AppID: "wx", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open(unreachable redis) = %v; want a store", err)
	}
	defer closer.Close()
	if !strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "hunter2") {
		t.Errorf("start-up log = %q; want a warning without the password", logs.String())
	}
	if _, err := s.Load(context.Background()); err == nil {
		t.Error("Load() from an unreachable Redis = nil error")
	}
}
