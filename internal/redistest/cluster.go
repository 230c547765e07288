package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters only, every slot served.
type Cluster struct {
	nodes []*Server
}

// StartCluster runs a Redis Cluster of masters (at least 3, as redis-cli
// insists) with no replicas, and returns once every node reports the whole
// cluster up. Every node is killed on cleanup.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := lookBinary(tb, "redis-cli")
	// Each node's bus port is chosen too: the default, port+10000, is
	// neither checked to be free nor, for an ephemeral port, always valid.
	ports := freePorts(tb, 2*masters)
	c := &Cluster{}
	for i := range masters {
		c.nodes = append(c.nodes, startServer(tb, ports[i], "",
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(ports[masters+i]),
			// Short, but long enough that a node starved of CPU on a
			// loaded machine is not voted failed (no replica would take
			// over its slots; the cluster would go down).
			"--cluster-node-timeout", "5000"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitUp(tb)
	return c
}

// waitUp waits until every node sees every node and every slot served:
// redis-cli returns once the nodes agree on the slot map, but each node
// declares the cluster ok on its own schedule, and until it has, it
// answers CLUSTERDOWN.
func (c *Cluster) waitUp(tb testing.TB) {
	tb.Helper()
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": "16384",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    strconv.Itoa(len(c.nodes)),
		"cluster_size":           strconv.Itoa(len(c.nodes)),
	}
	admins := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		admins[i] = adminClient(n.Addr())
		defer admins[i].Close()
	}
	poll(tb, 15*time.Second, "cluster up on every node", func(ctx context.Context) error {
		for i, a := range admins {
			info, err := a.ClusterInfo(ctx).Result()
			if err != nil {
				return fmt.Errorf("%s: %w", c.nodes[i].Addr(), err)
			}
			for k, v := range want {
				if got := infoField(info, k); got != v {
					return fmt.Errorf("%s: %s is %q, want %q", c.nodes[i].Addr(), k, got, v)
				}
			}
		}
		return nil
	})
}

// URL returns the cluster in redis.ParseClusterURL's form: the first node
// as the host, the others as addr parameters.
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	return "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
}

// Addrs returns every node's 127.0.0.1:PORT.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Nodes returns the cluster's servers, in the order of Addrs.
func (c *Cluster) Nodes() []*Server { return append([]*Server(nil), c.nodes...) }

// Client returns a cluster client for URL, closed on cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	opts, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		tb.Fatalf("cluster URL %s: %v", c.URL(), err)
	}
	cc := redis.NewClusterClient(opts)
	tb.Cleanup(func() { cc.Close() })
	return cc
}
