package connlimit

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises the soft limit on open files to the hard one and
// returns both. Go's runtime already raises it to one below the hard
// limit at start-up (go.dev/issue/46279); doing it here names the limit
// the default cap is derived from, so start-up can log it. On failure
// (a sandbox refusing setrlimit) it returns the limits as they are.
func RaiseFileLimit() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("getrlimit RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return lim.Cur, lim.Max, fmt.Errorf("setrlimit RLIMIT_NOFILE: %w", err)
		}
		lim = raised
	}
	return lim.Cur, lim.Max, nil
}
