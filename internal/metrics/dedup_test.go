package metrics

import (
	"maps"
	"testing"

	"wxoa/wechat/dedup"
)

type fakeDedupRedis dedup.RedisStats

func (f fakeDedupRedis) Stats() dedup.RedisStats { return dedup.RedisStats(f) }

// The shared store's budget is exported once watched: what this instance
// wrote over the TTL, its maximum, and the replies left unstored.
func TestScrapeDedupRedis(t *testing.T) {
	m := New()
	m.WatchDedup(fakeDedup{dedup.MemoryStats{Bytes: 1 << 20}}, nil)
	m.WatchDedupRedis(fakeDedupRedis{WindowBytes: 5000, MaxBytes: 64 << 20, OverBudget: 7})
	_, fams := scrape(t, m)
	tests := []struct {
		family string
		want   float64
	}{
		{"wxoa_dedup_redis_window_bytes", 5000},
		{"wxoa_dedup_redis_budget_bytes", 64 << 20},
		{"wxoa_dedup_redis_over_budget_total", 7},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			if got := values(fams, tt.family); !maps.Equal(got, map[string]float64{"": tt.want}) {
				t.Errorf("%s = %v; want %v", tt.family, got, tt.want)
			}
		})
	}
}
