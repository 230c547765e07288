package main

import (
	"log/slog"
	"runtime/debug"
)

// gcHeadroom is how much garbage the heap may hold beyond what is live
// before a collection, at the default dedup budget.
const gcHeadroom = 24 << 20

// gcPercent is the GOGC that gives garbage headroom rather than a second
// copy of the dedup cache. The cache (DEDUP_CACHE_SIZE) is allocated at
// start-up and stays live, so Go's default GOGC=100 let the heap grow by
// as much again before collecting: 32 MiB of resident memory that held
// nothing, at the default budget (peak RSS 112 MB under load; 87 MB at
// this setting). It is a percentage, not a limit: whatever else becomes
// live (a flood of connections, thousands of accounts) still grows the
// allowance with it, where a GOMEMLIMIT would make the collector run
// without end.
func gcPercent(dedupBytes int64) int {
	return int(max(10, 100*gcHeadroom/(dedupBytes+gcHeadroom)))
}

// tuneGC sets gcPercent unless the operator set GOGC; it reports the
// percentage in force.
func tuneGC(getenv func(string) string, dedupBytes int64, log *slog.Logger) int {
	if getenv("GOGC") != "" {
		return -1
	}
	p := gcPercent(dedupBytes)
	debug.SetGCPercent(p)
	log.Info("garbage collection paced to the dedup cache", "gogc", p, "dedup_cache_bytes", dedupBytes)
	return p
}
