// Package soak defines the -soak test flag for every test binary, so that
// `go test -run Soak -soak=60s ./...` runs the opt-in soak test (in the root
// package) and every other package accepts the flag instead of failing on
// it. Test packages import it for that side effect only.
package soak

import (
	"flag"
	"time"
)

// duration is the flag's value; flag variables are how Go tests take options.
var duration = flag.Duration("soak", 0, "run the soak test for this long (0: skip it)")

// Duration is how long the soak test runs; 0 means it is skipped.
func Duration() time.Duration { return *duration }
