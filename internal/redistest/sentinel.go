package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const masterName = "mymaster"

// Sentinel is a master, its replica and one sentinel watching them with a
// quorum of 1, tuned so that a failover takes seconds.
type Sentinel struct {
	tb       testing.TB
	sentinel *Server
	nodes    [2]*Server // the first master and its replica; failovers swap the roles
	admin    *redis.SentinelClient

	mu     sync.Mutex
	before string // the master address WaitFailover waits to see replaced
}

// sentinelConf fails a master over about a second after it stops
// answering. The failover timeout leaves room for a slow promotion on a
// loaded machine, since a timed-out failover is retried only after twice
// that.
const sentinelConf = `sentinel monitor %[1]s 127.0.0.1 %[2]d 1
sentinel down-after-milliseconds %[1]s 1000
sentinel failover-timeout %[1]s 3000
sentinel parallel-syncs %[1]s 1
`

// StartSentinel runs a master, a replica in sync with it and a sentinel
// that knows both, and returns once all that holds. Everything is killed
// on cleanup.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	ports := freePorts(tb, 3)
	// A master waits 5 s by default before a full sync, for more replicas
	// to share it; either node may end up master.
	noSyncDelay := []string{"--repl-diskless-sync-delay", "0"}
	master := startServer(tb, ports[0], "", noSyncDelay...)
	replica := startServer(tb, ports[1], "", append(noSyncDelay, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))...)
	// The sentinel learns replicas from the master's INFO, which it reads
	// on connecting and then only every 10 s: the replica must be attached
	// before the sentinel starts.
	waitInSync(tb, replica)
	sent := startServer(tb, ports[2], fmt.Sprintf(sentinelConf, masterName, ports[0]), "--sentinel")
	s := &Sentinel{
		tb: tb, sentinel: sent, nodes: [2]*Server{master, replica},
		admin:  redis.NewSentinelClient(adminOptions(sent.Addr())),
		before: master.Addr(),
	}
	tb.Cleanup(func() { s.admin.Close() })
	poll(tb, 15*time.Second, "sentinel to know the master and its replica", func(ctx context.Context) error {
		m, err := s.admin.Master(ctx, masterName).Result()
		if err != nil {
			return err
		}
		if m["flags"] != "master" || m["num-slaves"] != "1" {
			return fmt.Errorf("sentinel master: flags %q, num-slaves %q", m["flags"], m["num-slaves"])
		}
		rs, err := s.admin.Replicas(ctx, masterName).Result()
		if err != nil {
			return err
		}
		if len(rs) != 1 || rs[0]["flags"] != "slave" || rs[0]["master-link-status"] != "ok" ||
			net.JoinHostPort(rs[0]["ip"], rs[0]["port"]) != replica.Addr() {
			return fmt.Errorf("sentinel replicas: %v", rs)
		}
		return nil
	})
	return s
}

// waitInSync waits until replica reports its link to the master up.
func waitInSync(tb testing.TB, replica *Server) {
	tb.Helper()
	a := adminClient(replica.Addr())
	defer a.Close()
	poll(tb, 15*time.Second, "replica "+replica.Addr()+" in sync", func(ctx context.Context) error {
		info, err := a.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if st := infoField(info, "master_link_status"); st != "up" {
			return fmt.Errorf("master_link_status %q", st)
		}
		return nil
	})
}

// URL returns the setup in redis.ParseFailoverURL's form: the sentinel's
// address, database 0 and the master's name.
func (s *Sentinel) URL() string {
	return fmt.Sprintf("redis://%s/0?master_name=%s", s.sentinel.Addr(), masterName)
}

// MasterName returns the name the sentinel monitors the master under.
func (s *Sentinel) MasterName() string { return masterName }

// Master returns the server the sentinel currently reports as master.
func (s *Sentinel) Master() *Server {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, err := s.masterAddr(ctx)
	if err != nil {
		s.tb.Fatalf("sentinel get-master-addr-by-name: %v", err)
	}
	for _, n := range s.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	s.tb.Fatalf("sentinel reports master %s, none of %s, %s", addr, s.nodes[0].Addr(), s.nodes[1].Addr())
	return nil
}

// Replica returns the server that is not Master.
func (s *Sentinel) Replica() *Server {
	s.tb.Helper()
	if s.Master() == s.nodes[0] {
		return s.nodes[1]
	}
	return s.nodes[0]
}

// KillMaster kills the current master's process, as a crash would.
func (s *Sentinel) KillMaster() {
	s.tb.Helper()
	m := s.Master()
	s.mu.Lock()
	s.before = m.Addr()
	s.mu.Unlock()
	m.Stop()
}

// WaitFailover waits until the sentinel reports another master than the
// one KillMaster killed (or, without KillMaster, than the last one seen)
// and that server answers ROLE as a master, failing tb after 20 s.
func (s *Sentinel) WaitFailover(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	before := s.before
	s.mu.Unlock()
	var now string
	poll(tb, 20*time.Second, "failover from "+before, func(ctx context.Context) error {
		addr, err := s.masterAddr(ctx)
		if err != nil {
			return err
		}
		if addr == before {
			return fmt.Errorf("sentinel still reports %s", before)
		}
		a := adminClient(addr)
		defer a.Close()
		role, err := a.Do(ctx, "ROLE").Slice()
		if err != nil {
			return fmt.Errorf("ROLE on %s: %w", addr, err)
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("ROLE on %s: %v", addr, role)
		}
		now = addr
		return nil
	})
	s.mu.Lock()
	s.before = now
	s.mu.Unlock()
}

func (s *Sentinel) masterAddr(ctx context.Context) (string, error) {
	hp, err := s.admin.GetMasterAddrByName(ctx, masterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("get-master-addr-by-name answered %q", hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Client returns a failover client for URL, closed on cleanup.
func (s *Sentinel) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseFailoverURL(s.URL())
	if err != nil {
		tb.Fatalf("sentinel URL %s: %v", s.URL(), err)
	}
	c := redis.NewFailoverClient(opts)
	tb.Cleanup(func() { c.Close() })
	return c
}
