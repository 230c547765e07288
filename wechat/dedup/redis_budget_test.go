package dedup

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// usedMemory is Redis's INFO used_memory: what the flood costs Redis.
func usedMemory(t *testing.T, c redis.UniversalClient) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

// A flood of distinct messages with 60 KB replies: the replies Redis keeps
// stay within the budget; every message is still claimed once.
func TestRedisFloodStaysInBudget(t *testing.T) {
	const (
		messages = 3000
		budget   = 8 << 20
		// perMessage is what a plaintext message costs Redis beyond its
		// reply: its claim and its query's binding, each a key, a value,
		// an expiry and the allocator's rounding (measured: 420 B).
		perMessage = 512
	)
	ctx := context.Background()
	c := client(t, redistest.Start(t).URL())
	r, err := NewRedis(RedisConfig{Client: c, Prefix: testPrefix(t), MaxBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	reply := []byte(strings.Repeat("x", 60<<10))
	before := usedMemory(t, c)
	key := func(i int) string { return "gh_123456789abc:msg:" + strconv.Itoa(24_000_000_000_000_000+i) }
	for i := range messages {
		key := key(i)
		b := Bind("1700000000", strconv.Itoa(i), "0123456789abcdef0123456789abcdef01234567", []byte(key))
		if ok, _, err := r.ClaimBound(ctx, key, b); !ok || err != nil {
			t.Fatalf("Claim(%q) = %v, %v; want claimed", key, ok, err)
		}
		if err := r.Done(ctx, key, reply); err != nil {
			t.Fatal(err)
		}
	}
	growth := usedMemory(t, c) - before
	t.Logf("Redis used_memory grew %d KiB for %d distinct 60 KB replies (budget %d KiB)", growth>>10, messages, budget>>10)
	// The allocator rounds a large value up to its size class, by up to a
	// quarter (jemalloc: four classes per doubling).
	if limit := int64(budget*5/4 + messages*perMessage); growth > limit {
		t.Errorf("Redis grew %d KiB; want at most the budget (allocator rounding included) plus the claims and bindings, %d KiB",
			growth>>10, limit>>10)
	}
	// Over the budget a message is still claimed: a retry answers
	// "success" and never runs the rule again.
	if ok, _, err := r.Claim(ctx, key(messages-1)); ok || err != ErrNoReply {
		t.Errorf("retry of the last message = %v, %v; want not claimed, ErrNoReply", ok, err)
	}
	stored := budget / (1 + len(reply))
	if st := r.Stats(); st.OverBudget != uint64(messages-stored) || st.WindowBytes != int64(stored*(1+len(reply))) {
		t.Errorf("Stats() = %+v; want %d over budget, %d bytes in the window", st, messages-stored, stored*(1+len(reply)))
	}
}

// The budget counts the bytes of the last TTL: a reply is forgotten only
// once Redis has let it expire, and then its bytes can be spent again.
func TestWindowReleasesAfterTTL(t *testing.T) {
	const ttl = 64 * time.Second // one slot a second
	now := time.Unix(1700000000, 0)
	var w window
	w.init(100, ttl, func() time.Time { return now })
	steps := []struct {
		after time.Duration // since the previous step
		take  int64
		want  bool
	}{
		{0, 60, true},
		{10 * time.Second, 40, true},
		{time.Second, 1, false},          // full
		{ttl - 11*time.Second, 1, false}, // the first 60 bytes may still be in Redis
		{2 * time.Second, 60, true},      // they expired: room again
		{0, 1, false},
		{ttl + time.Second, 100, true}, // everything expired, and its slot passed
	}
	for i, s := range steps {
		now = now.Add(s.after)
		if got := w.take(s.take); got != s.want {
			used, _ := w.usage()
			t.Errorf("step %d: take(%d) with %d used = %v; want %v", i, s.take, used, got, s.want)
		}
	}
}
