package redistest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"github.com/redis/go-redis/v9"
)

func TestClusterServesEverySlotAndHashTags(t *testing.T) {
	c := StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if n := len(c.Nodes()); n != 3 {
		t.Fatalf("%d nodes, want 3", n)
	}
	opts, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		t.Fatalf("ParseClusterURL(%s): %v", c.URL(), err)
	}
	if !slices.Equal(opts.Addrs, c.Addrs()) {
		t.Fatalf("ParseClusterURL(%s) addrs %v, want %v", c.URL(), opts.Addrs, c.Addrs())
	}
	cc := redis.NewClusterClient(opts)
	defer cc.Close()

	// One key per node: the cluster really spreads keys, not just answers.
	owner := map[string]string{} // node address -> a key it owns
	for i := 0; len(owner) < 3 && i < 1000; i++ {
		key := "k" + strconv.Itoa(i)
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatalf("MasterForKey(%s): %v", key, err)
		}
		if _, ok := owner[m.Options().Addr]; !ok {
			owner[m.Options().Addr] = key
		}
	}
	if len(owner) != 3 {
		t.Fatalf("keys landed on %d nodes, want 3: %v", len(owner), owner)
	}
	for _, n := range c.Nodes() {
		key, ok := owner[n.Addr()]
		if !ok {
			t.Fatalf("no key owned by node %s: %v", n.Addr(), owner)
		}
		if err := cc.Set(ctx, key, "v-"+key, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		if got, err := cc.Get(ctx, key).Result(); err != nil || got != "v-"+key {
			t.Fatalf("GET %s = %q, %v", key, got, err)
		}
		// Asked directly, the owner has the value...
		if got, err := n.Client(t).Get(ctx, key).Result(); err != nil || got != "v-"+key {
			t.Fatalf("GET %s on its owner %s = %q, %v", key, n.Addr(), got, err)
		}
	}
	// ...and any other node redirects.
	other := c.Nodes()[0]
	for addr, key := range owner {
		if addr == other.Addr() {
			continue
		}
		err := other.Client(t).Get(ctx, key).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
			t.Fatalf("GET %s on non-owner %s: %v, want MOVED", key, other.Addr(), err)
		}
	}

	script := redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('MGET', KEYS[1], KEYS[2])`)
	got, err := script.Run(ctx, cc, []string{"{x}:a", "{x}:b"}, "1", "2").StringSlice()
	if err != nil || !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("script on {x}:a {x}:b = %v, %v", got, err)
	}
	// Without a shared hash tag the same script must be refused, or the
	// hash tag above proved nothing.
	apart := []string{owner[c.Addrs()[0]], owner[c.Addrs()[1]]}
	err = script.Run(ctx, cc, apart, "1", "2").Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("script on %v (different nodes): %v, want CROSSSLOT", apart, err)
	}

	if got, err := c.Client(t).Get(ctx, "{x}:b").Result(); err != nil || got != "2" {
		t.Fatalf("Cluster.Client GET {x}:b = %q, %v", got, err)
	}
}

func TestSentinelFailoverKeepsReplicatedData(t *testing.T) {
	s := StartSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	opts, err := redis.ParseFailoverURL(s.URL())
	if err != nil {
		t.Fatalf("ParseFailoverURL(%s): %v", s.URL(), err)
	}
	if opts.MasterName != s.MasterName() || len(opts.SentinelAddrs) != 1 || opts.DB != 0 {
		t.Fatalf("ParseFailoverURL(%s) = master %q, sentinels %v, db %d", s.URL(), opts.MasterName, opts.SentinelAddrs, opts.DB)
	}
	c := redis.NewFailoverClient(opts)
	defer c.Close()

	old, replica := s.Master(), s.Replica()
	if old == replica {
		t.Fatalf("master and replica are both %s", old.Addr())
	}
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatalf("SET before: %v", err)
	}
	// The write must have reached the replica, or the failover could lose
	// it legitimately.
	if n, err := c.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1 replica", n, err)
	}
	if got, err := old.Client(t).Get(ctx, "before").Result(); err != nil || got != "1" {
		t.Fatalf("GET before on the master %s = %q, %v: the client wrote elsewhere", old.Addr(), got, err)
	}

	s.KillMaster()
	s.WaitFailover(t)
	if m := s.Master(); m != replica {
		t.Fatalf("master after failover is %s, want the replica %s", m.Addr(), replica.Addr())
	}
	if r := s.Replica(); r != old {
		t.Fatalf("replica after failover is %s, want the old master %s", r.Addr(), old.Addr())
	}

	if got, err := c.Get(ctx, "before").Result(); err != nil || got != "1" {
		t.Fatalf("GET before after failover = %q, %v", got, err)
	}
	if err := c.Set(ctx, "after", "2", 0).Err(); err != nil {
		t.Fatalf("SET after, after failover: %v", err)
	}
	if got, err := replica.Client(t).Get(ctx, "after").Result(); err != nil || got != "2" {
		t.Fatalf("GET after on the new master %s = %q, %v", replica.Addr(), got, err)
	}
	if got, err := s.Client(t).Get(ctx, "after").Result(); err != nil || got != "2" {
		t.Fatalf("Sentinel.Client GET after = %q, %v", got, err)
	}
}

func TestStartRestartEmpties(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	s.Restart()
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET after restart: %v, want redis.Nil (persistence is off)", err)
	}
	s.Stop()
	if err := ping(s.Addr()); err == nil {
		t.Fatalf("%s still answers after Stop", s.Addr())
	}
}
