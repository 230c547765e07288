// Package benchredisclients measures the callback's Redis dedup per new
// message with go-redis, as package dedup does it, beside the same
// protocol on rueidis' automatic pipelining, against a real redis-server
// on 127.0.0.1 (started here; redis-server must be on PATH). It is a
// module of its own so that rueidis stays out of the project's go.mod.
//
//	cd bench/redisclients && go test -bench . -benchtime 20000x -count 3
//
// Besides ns/op it reports, per message, the client's socket writes
// (writes/msg: each one a round trip's request, or several requests'
// under pipelining) and the commands Redis ran (cmds/msg).
package benchredisclients

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"wxoa/wechat/dedup"
)

// parallelism×GOMAXPROCS goroutines send messages at once, as wrk -c64
// does against the server on this 2-core machine.
const parallelism = 32

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// startRedis runs a redis-server on a free port for the benchmark.
func startRedis(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		b.Skipf("redis-server: %v", err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("redis-server did not start")
	return ""
}

// commands is the number of commands Redis has run (INFO commandstats).
func commands(b *testing.B, addr string) int64 {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\r\n") {
		if _, rest, ok := strings.Cut(line, ":calls="); ok {
			v, _, _ := strings.Cut(rest, ",")
			k, _ := strconv.ParseInt(v, 10, 64)
			n += k
		}
	}
	return n - 1 // this INFO
}

// message is what the callback hands the store per new message: its key,
// its query's binding and a ~300-byte reply.
type message struct {
	key   string
	bind  dedup.Binding
	reply []byte
}

var reply300 = []byte(strings.Repeat("r", 300))

func newMessage(i int64) message {
	key := "gh_123456789abc:msg:" + strconv.FormatInt(24_000_000_000_000_000+i, 10)
	return message{key: key, bind: dedup.Bind("1700000000", strconv.FormatInt(i, 10), "sig", []byte(key)), reply: reply300}
}

// run sends b.N new messages through handle from parallel goroutines and
// reports writes and commands per message.
func run(b *testing.B, addr string, writes *atomic.Int64, handle func(ctx context.Context, m message), flush func()) {
	var next atomic.Int64
	handle(context.Background(), newMessage(next.Add(1)+1e9)) // warm up: dial, load scripts
	flush()
	w0, c0 := writes.Load(), commands(b, addr)
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			handle(ctx, newMessage(next.Add(1)))
		}
	})
	flush()
	b.StopTimer()
	b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/msg")
	b.ReportMetric(float64(commands(b, addr)-c0)/float64(b.N), "cmds/msg")
}

func goRedisClient(addr string, writes *atomic.Int64) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, PoolSize: 4 * parallelism,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return countingConn{c, writes}, err
		}})
}

// BenchmarkNewMessage is one new plaintext message's dedup: the bound
// claim, then the reply's write.
func BenchmarkNewMessage(b *testing.B) {
	b.Run("go-redis/sync-write", func(b *testing.B) {
		addr := startRedis(b)
		var writes atomic.Int64
		c := goRedisClient(addr, &writes)
		defer c.Close()
		r, err := dedup.NewRedis(dedup.RedisConfig{Client: c, OpTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		run(b, addr, &writes, func(ctx context.Context, m message) {
			if ok, _, err := r.ClaimBound(ctx, m.key, m.bind); !ok || err != nil {
				b.Errorf("ClaimBound = %v, %v", ok, err)
			}
			r.Done(ctx, m.key, m.reply)
		}, func() {})
	})
	b.Run("go-redis/write-behind", func(b *testing.B) {
		addr := startRedis(b)
		var writes atomic.Int64
		c := goRedisClient(addr, &writes)
		defer c.Close()
		r, err := dedup.NewRedis(dedup.RedisConfig{Client: c, OpTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		s := dedup.WithFallback(r, dedup.NewMemory(dedup.MemoryConfig{}), nil)
		run(b, addr, &writes, func(ctx context.Context, m message) {
			if ok, _, err := s.ClaimBound(ctx, m.key, m.bind); !ok || err != nil {
				b.Errorf("ClaimBound = %v, %v", ok, err)
			}
			s.Done(ctx, m.key, m.reply)
		}, func() { s.Close() })
	})
	for _, behind := range []bool{false, true} {
		name := "rueidis/sync-write"
		if behind {
			name = "rueidis/write-behind"
		}
		b.Run(name, func(b *testing.B) {
			addr := startRedis(b)
			var writes atomic.Int64
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true,
				DialCtxFn: func(ctx context.Context, dst string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
					conn, err := d.DialContext(ctx, "tcp", dst)
					return countingConn{conn, &writes}, err
				}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var pending sync.WaitGroup
			run(b, addr, &writes, func(ctx context.Context, m message) {
				ok, err := rueidisClaim(ctx, c, m)
				if !ok || err != nil {
					b.Errorf("claim = %v, %v", ok, err)
				}
				set := c.B().Set().Key("dedup:reply:" + m.key).Value(rueidis.BinaryString(append([]byte{'r'}, m.reply...))).
					Px(11 * time.Minute).Build()
				if !behind {
					c.Do(ctx, set)
					return
				}
				pending.Go(func() { c.Do(context.WithoutCancel(ctx), set) })
			}, pending.Wait)
		})
	}
}

// claimLua is package dedup's claim script (redis_claim.go), bound.
var claimLua = rueidis.NewLuaScript(claimSource)

const claimSource = `
if KEYS[2] then
  local b = redis.call('GET', KEYS[2])
  if not b then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
  elseif b ~= ARGV[2] then
    return 0
  end
end
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'p', 'PX', ARGV[1])
return 1`

func rueidisClaim(ctx context.Context, c rueidis.Client, m message) (bool, error) {
	keys := []string{"dedup:reply:" + m.key, "dedup:bind:" + hex.EncodeToString(m.bind.Query[:])}
	n, err := claimLua.Exec(ctx, c, keys, []string{"660000", string(m.bind.Body[:])}).AsInt64()
	return n == 1, err
}
