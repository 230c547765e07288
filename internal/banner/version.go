package banner

import (
	"runtime/debug"
)

// BuildVersion returns the module version and VCS revision the binary was
// built from, e.g. "v1.2.0 (rev 1a2b3c4)" or
// "v0.0.0-20260101120000-1a2b3c4d5e6f+dirty (rev 1a2b3c4, modified)", so a
// bug report names the exact build. It is "(devel)" for a build without
// module version or VCS stamp (go run, -buildvcs=false), and "(unknown)"
// when the binary carries no build information.
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	return versionOf(bi)
}

// versionOf is BuildVersion for a given build, for tests.
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	rev = rev[:min(len(rev), 7)]
	if modified {
		return v + " (rev " + rev + ", modified)"
	}
	return v + " (rev " + rev + ")"
}
