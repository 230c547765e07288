package redisurl_test

import (
	"strings"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"github.com/redis/go-redis/v9"

	"wxoa/wechat/redisurl"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		topology redisurl.Topology
		display  string
	}{
		{"single", "redis://127.0.0.1:6379/2", redisurl.Single, "redis://127.0.0.1:6379/2"},
		{"single with password", "redis://:s3cret@127.0.0.1:6379/0", redisurl.Single, "redis://:xxxxx@127.0.0.1:6379/0"},
		{"single with user and options", "redis://app:pw@h:1/0?dial_timeout=3s", redisurl.Single, "redis://app:xxxxx@h:1/0?dial_timeout=3s"},
		{"tls", "rediss://h:6380/0", redisurl.Single, "rediss://h:6380/0"},
		{"sentinel", "redis://:pw@s1:26379/0?master_name=mymaster&addr=s2:26379", redisurl.Sentinel, "redis://:xxxxx@s1:26379/0?addr=s2%3A26379&master_name=mymaster"},
		{"sentinel with master password", "redis://s1:26379/0?master_name=m&password=mpw", redisurl.Sentinel, "redis://s1:26379/0?master_name=m&password=xxxxx"},
		{"cluster", "redis://:pw@n1:7000?addr=n2:7001&addr=n3:7002", redisurl.Cluster, "redis://:xxxxx@n1:7000?addr=n2%3A7001&addr=n3%3A7002"},
		{"cluster with /0", "redis://n1:7000/0?addr=n2:7001", redisurl.Cluster, "redis://n1:7000/0?addr=n2%3A7001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisurl.Parse(tt.url)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.url, err)
			}
			if s.Topology() != tt.topology || s.String() != tt.display {
				t.Errorf("Parse(%q) = %s %q; want %s %q", tt.url, s.Topology(), s.String(), tt.topology, tt.display)
			}
			c := s.NewClient()
			defer c.Close()
			switch tt.topology {
			case redisurl.Single, redisurl.Sentinel:
				if _, ok := c.(*redis.Client); !ok {
					t.Errorf("NewClient() = %T; want *redis.Client", c)
				}
			case redisurl.Cluster:
				if _, ok := c.(*redis.ClusterClient); !ok {
					t.Errorf("NewClient() = %T; want *redis.ClusterClient", c)
				}
			}
		})
	}
}

func TestParseDefaultsFailFast(t *testing.T) {
	s := redisurl.MustParse("redis://127.0.0.1:1/0")
	c := s.NewClient().(*redis.Client)
	defer c.Close()
	o := c.Options()
	if o.DialTimeout != redisurl.DefaultDialTimeout || o.ReadTimeout != redisurl.DefaultIOTimeout || o.MaxRetries != redisurl.DefaultMaxRetries {
		t.Errorf("options = dial %v read %v retries %d; want the fail-fast defaults", o.DialTimeout, o.ReadTimeout, o.MaxRetries)
	}
	s = redisurl.MustParse("redis://127.0.0.1:1/0?dial_timeout=7s")
	c2 := s.NewClient().(*redis.Client)
	defer c2.Close()
	if got := c2.Options().DialTimeout; got != 7*time.Second {
		t.Errorf("DialTimeout from the URL = %v; want 7s", got)
	}
}

func TestParseErrorsHideSecrets(t *testing.T) {
	const secret = "Sup3rS3cretPW"
	tests := []struct{ name, url, want string }{
		{"bad scheme", "http://:" + secret + "@h:1/0", "scheme"},
		{"no host", "redis://:" + secret + "@/0", "no host"},
		{"bad port", "redis://:" + secret + "@h:notaport/0", "parsed"},
		{"bad db", "redis://:" + secret + "@h:1/x", "database"},
		{"unknown option", "redis://:" + secret + "@h:1/0?nope=1", "unexpected option"},
		{"bad duration", "redis://:" + secret + "@h:1/0?dial_timeout=soon", "dial_timeout"},
		{"empty master", "redis://:" + secret + "@h:1/0?master_name=", "master_name"},
		{"bad sentinel addr", "redis://h:1/0?master_name=m&password=" + secret + "&addr=nope", "addr"},
		{"cluster db", "redis://:" + secret + "@h:1/3?addr=h2:2", "database"},
		{"fragment", "redis://:" + secret + "@h:1/0#x", "fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redisurl.Parse(tt.url)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error", tt.name)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q; want it to mention %q and never the password", err, tt.want)
			}
		})
	}
}

func TestMissingSlashes(t *testing.T) {
	const secret = "Sup3rS3cretPW"
	tests := []struct{ raw, want string }{
		{"redis:/nohost", `has no "//" after "redis:": did you mean redis://nohost?`},
		{"redis:nohost:6379/0", `did you mean redis://nohost:6379/0?`},
		{"rediss:/cache:6380/2", `did you mean rediss://cache:6380/2?`},
		{"redis:/:" + secret + "@cache:6379/0", `did you mean redis://xxxxx@cache:6379/0?`},
		{"redis:/user:" + secret + "@cache", `did you mean redis://xxxxx@cache?`},
		{"redis:/cache:6379/0?password=" + secret, `did you mean redis://cache:6379/0?...?`},
		{"redis:/:" + secret + "%zz@cache", `want redis://HOST:PORT/DB`},
		{"redis://nohost", ""},
		{"rediss://:" + secret + "@cache:6380", ""},
		{"redis:", ""},
		{"memory", ""},
		{"file:data/t.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := redisurl.MissingSlashes(tt.raw)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("MissingSlashes(%q) = %v; want nil", tt.raw, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("MissingSlashes(%q) = %v; want %q in it", tt.raw, err, tt.want)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Errorf("MissingSlashes(%q) = %v; want no password in it", tt.raw, err)
			}
		})
	}
}

func TestParseDefaultsRESP2(t *testing.T) {
	for raw, want := range map[string]int{
		"redis://127.0.0.1:1/0":            2,
		"redis://127.0.0.1:1/0?protocol=3": 3,
	} {
		c := redisurl.MustParse(raw).NewClient().(*redis.Client)
		if got := c.Options().Protocol; got != want {
			t.Errorf("%s: Protocol = %d; want %d", raw, got, want)
		}
		c.Close()
	}
	for _, raw := range []string{"redis://s1:26379/0?master_name=mymaster", "redis://n1:7000?addr=n2:7001"} {
		c := redisurl.MustParse(raw).NewClient()
		var got int
		switch c := c.(type) {
		case *redis.Client:
			got = c.Options().Protocol
		case *redis.ClusterClient:
			got = c.Options().Protocol
		}
		if got != 2 {
			t.Errorf("%s: Protocol = %d; want 2", raw, got)
		}
		c.Close()
	}
}
