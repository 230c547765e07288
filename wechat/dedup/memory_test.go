package dedup

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// newFakeClock returns a clock tests move by hand, half a second past a
// whole one: the store reads whole seconds, and this is where rounding could
// cut a TTL short.
func newFakeClock() *wechattest.Clock {
	return wechattest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC))
}

// fill returns n bytes that differ from any other fill's, with the tag
// bytes in them so that a store that trims or reads tags shows it.
func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	if n > 2 {
		b[0], b[1] = tagPending, tagChunked
	}
	return b
}

func TestMemoryRetryGetsSameBytes(t *testing.T) {
	tests := []struct {
		name  string
		bytes int
		key   string
		reply []byte
	}{
		{"text reply", 0, "msg:123", []byte("<xml><Content><![CDATA[hi]]></Content></xml>")},
		{"success", 0, "evt:oUser:1700000000:subscribe:", []byte("success")},
		{"empty reply", 0, "msg:1", []byte{}},
		{"stack buffer edge", 0, "msg:2", fill(smallReply-1, 1)},
		{"past stack buffer", 0, "msg:3", fill(smallReply+1, 2)},
		{"forward answer 70 KB in parts", 0, "msg:4", fill(70_000, 3)},
		{"128 KiB at the default budget", 0, "msg:5", fill(128<<10, 4)},
		{"60 KB in a 1 MiB store", MinMemoryBytes, "msg:6", fill(60_000, 5)},
		{"long key", 0, "evt:" + strings.Repeat("u", 60_000) + ":1:CLICK:k", fill(300, 6)},
		{"key that looks hashed", 0, "#abc", fill(300, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(MemoryConfig{Bytes: tt.bytes})
			ctx := context.Background()
			claimed, _, err := m.Claim(ctx, tt.key)
			if !claimed || err != nil {
				t.Fatalf("first Claim(%q) = %v, %v; want true, nil", tt.key, claimed, err)
			}
			if err := m.Done(ctx, tt.key, tt.reply); err != nil {
				t.Fatalf("Done: %v", err)
			}
			for try := 2; try <= 4; try++ {
				claimed, got, err := m.Claim(ctx, tt.key)
				if claimed || err != nil || !bytes.Equal(got, tt.reply) {
					t.Fatalf("try %d: Claim = %v, %d bytes, %v; want false, the %d bytes of the first try, nil",
						try, claimed, len(got), err, len(tt.reply))
				}
			}
			if ok, err := m.Once(ctx, tt.key); !ok || err != nil {
				t.Errorf("Once(%q) after Claim = %v, %v; want true: separate key space", tt.key, ok, err)
			}
		})
	}
}

func TestMemoryConcurrentClaimsOneRunner(t *testing.T) {
	claimRace(t, 50, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}))
}

func TestMemoryWaiter(t *testing.T) {
	tests := []struct {
		name   string
		finish func(m *Memory, key string) // what the claimer does; nil: nothing
		want   error
	}{
		{"claimer still running", nil, ErrPending},
		{"reply too large", func(m *Memory, key string) { m.Done(context.Background(), key, fill(2000, 1)) }, ErrNoReply},
		{"claimer abandoned", func(m *Memory, key string) { m.Abandon(context.Background(), key) }, ErrNoReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, MaxReply: 1000})
			if ok, _, _ := m.Claim(context.Background(), "msg:7"); !ok {
				t.Fatal("first Claim not claimed")
			}
			if tt.finish != nil {
				time.AfterFunc(20*time.Millisecond, func() { tt.finish(m, "msg:7") })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			claimed, reply, err := m.Claim(ctx, "msg:7")
			if claimed || reply != nil || !errors.Is(err, tt.want) {
				t.Errorf("waiting Claim = %v, %q, %v; want false, nil, %v", claimed, reply, err, tt.want)
			}
		})
	}
}

func TestMemoryTTL(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name string
		// held reports whether the store still remembers key.
		held func(m *Memory, key string) bool
		set  func(m *Memory, key string)
	}{
		{"pending claim", func(m *Memory, key string) bool {
			ok, _, err := m.Claim(cancelled(), key)
			return !ok && errors.Is(err, ErrPending)
		}, func(m *Memory, key string) { m.Claim(context.Background(), key) }},
		{"reply", func(m *Memory, key string) bool {
			ok, reply, err := m.Claim(context.Background(), key)
			return !ok && err == nil && string(reply) == "r"
		}, func(m *Memory, key string) {
			m.Claim(context.Background(), key)
			m.Done(context.Background(), key, []byte("r"))
		}},
		{"reply in parts", func(m *Memory, key string) bool {
			ok, reply, err := m.Claim(context.Background(), key)
			return !ok && err == nil && len(reply) == 5000
		}, func(m *Memory, key string) {
			m.Claim(context.Background(), key)
			m.Done(context.Background(), key, fill(5000, 1))
		}},
		{"once", func(m *Memory, key string) bool {
			ok, _ := m.Once(context.Background(), key)
			return !ok
		}, func(m *Memory, key string) { m.Once(context.Background(), key) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, TTL: ttl, Now: clock.Now})
			// One key per age: a lookup of an expired key claims it anew.
			for _, age := range []time.Duration{0, ttl / 2, ttl} {
				key := "msg:" + age.String()
				tt.set(m, key)
				clock.Advance(age)
				if !tt.held(m, key) {
					t.Errorf("forgotten after %v; want kept for the TTL, %v", age, ttl)
				}
				clock.Advance(-age)
			}
			key := "msg:late"
			tt.set(m, key)
			clock.Advance(ttl + 2*time.Second)
			if tt.held(m, key) {
				t.Errorf("still held %v after; want gone after the TTL (%v) and a second of rounding", ttl+2*time.Second, ttl)
			}
		})
	}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestMemoryOnceExactlyOnce(t *testing.T) {
	onceRace(t, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}))
}

// MaxWait bounds a waiting Claim without a deadline on its context.
func TestMemoryMaxWait(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxWait: 30 * time.Millisecond})
	if claimed, _, err := m.Claim(context.Background(), "k"); !claimed || err != nil {
		t.Fatalf("first Claim = %v, %v; want the claim", claimed, err)
	}
	if _, _, err := m.Claim(context.Background(), "k"); !errors.Is(err, ErrPending) {
		t.Errorf("waiting Claim past MaxWait = %v; want ErrPending", err)
	}
}

func TestMemoryPeek(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		set       func(m *Memory, key string)
		want      []byte
		wantFound bool
		wantErr   error
	}{
		{"nothing", func(*Memory, string) {}, nil, false, nil},
		{"claimed", func(m *Memory, key string) { m.Claim(ctx, key) }, nil, true, ErrPending},
		{"done", func(m *Memory, key string) { m.Claim(ctx, key); m.Done(ctx, key, []byte("r")) }, []byte("r"), true, nil},
		{"done in parts", func(m *Memory, key string) { m.Claim(ctx, key); m.Done(ctx, key, fill(5000, 1)) }, fill(5000, 1), true, nil},
		{"abandoned", func(m *Memory, key string) { m.Claim(ctx, key); m.Abandon(ctx, key) }, nil, true, ErrNoReply},
		{"once only", func(m *Memory, key string) { m.Once(ctx, key) }, nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
			tt.set(m, "msg:1")
			got, found, err := m.Peek("msg:1")
			if found != tt.wantFound || !bytes.Equal(got, tt.want) || !errors.Is(err, tt.wantErr) {
				t.Errorf("Peek = %d bytes, %v, %v; want %d bytes, %v, %v", len(got), found, err, len(tt.want), tt.wantFound, tt.wantErr)
			}
			// Peek claims nothing: a key it found free is still free.
			if !tt.wantFound {
				if ok, _, _ := m.Claim(ctx, "msg:1"); !ok {
					t.Errorf("Claim after Peek = not claimed; want Peek to leave the key free")
				}
			}
		})
	}
	// Every Fallback claim peeks first and almost always misses: a miss
	// must cost no allocation.
	m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes})
	if n := testing.AllocsPerRun(100, func() { m.Peek("msg:absent") }); n != 0 {
		t.Errorf("Peek of a missing key: %v allocations; want 0", n)
	}
}
