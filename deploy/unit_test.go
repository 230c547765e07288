package deploy

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"wxoa/config"
)

// unitFile is a parsed systemd unit: section, then key, then every
// assignment of that key in order (systemd lets many keys repeat).
type unitFile map[string]map[string][]string

// parseUnit reads systemd's unit syntax as far as this test needs: [Section]
// headers, Key=Value lines, "#" and ";" comments, and a trailing "\" that
// joins the next line with a space.
func parseUnit(src string) (unitFile, error) {
	u := unitFile{}
	section := ""
	var joined string
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if joined == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if before, ok := strings.CutSuffix(line, `\`); ok {
			joined += before + " "
			continue
		}
		line, joined = joined+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: want Key=Value inside a [Section], got %q", i+1, line)
		}
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	return u, nil
}

func mustParseUnit(tb testing.TB) unitFile {
	tb.Helper()
	src, err := os.ReadFile(unitPath)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := parseUnit(string(src))
	if err != nil {
		tb.Fatalf("parse %s: %v", unitPath, err)
	}
	return u
}

// last returns the assignment in effect for a single-valued key.
func (u unitFile) last(section, key string) (string, bool) {
	v := u[section][key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// list returns the effective value of a list-valued key: assignments add
// up, and an empty one resets the list (which is how
// "CapabilityBoundingSet=" empties it).
func (u unitFile) list(section, key string) ([]string, bool) {
	v, ok := u[section][key]
	var out []string
	for _, a := range v {
		if a == "" {
			out = nil
			continue
		}
		out = append(out, strings.Fields(a)...)
	}
	slices.Sort(out)
	return out, ok
}

// isListKey reports whether key, among the checked ones, is one whose
// assignments add up.
func isListKey(key string) bool {
	switch key {
	case "RestrictAddressFamilies", "CapabilityBoundingSet", "AmbientCapabilities":
		return true
	}
	return false
}

// normalBool spells systemd's true values one way.
func normalBool(v string) string {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return "yes"
	}
	return v
}

// systemdDuration parses the time spans this unit uses: "30", "30s",
// "1min 30s".
func systemdDuration(s string) (time.Duration, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		s += "s" // a bare number is seconds
	}
	s = strings.ReplaceAll(s, "min", "m")
	s = strings.ReplaceAll(s, "sec", "s")
	return time.ParseDuration(strings.ReplaceAll(s, " ", ""))
}

// TestUnitHardening checks the unit's sandbox directive by directive, so a
// weakened or misspelled one is named.
func TestUnitHardening(t *testing.T) {
	u := mustParseUnit(t)
	tests := []struct {
		key, want string
	}{
		{"DynamicUser", "yes"},
		{"StateDirectory", "wxoa"},
		{"StateDirectoryMode", "0700"},
		{"WorkingDirectory", "/var/lib/wxoa"},
		{"Restart", "on-failure"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"PrivateDevices", "yes"},
		{"ProtectKernelTunables", "yes"},
		{"ProtectKernelModules", "yes"},
		{"ProtectControlGroups", "yes"},
		{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"LockPersonality", "yes"},
		{"MemoryDenyWriteExecute", "yes"},
		{"RestrictNamespaces", "yes"},
		{"SystemCallArchitectures", "native"},
		{"CapabilityBoundingSet", ""},
		{"AmbientCapabilities", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if isListKey(tt.key) {
				got, ok := u.list("Service", tt.key)
				want := strings.Fields(tt.want)
				slices.Sort(want)
				if !ok || !slices.Equal(got, want) {
					t.Errorf("[Service] %s = %q (set: %v); want %q", tt.key, got, ok, want)
				}
				return
			}
			got, ok := u.last("Service", tt.key)
			if !ok || normalBool(got) != tt.want {
				t.Errorf("[Service] %s = %q (set: %v); want %q", tt.key, got, ok, tt.want)
			}
		})
	}
}

// TestUnitRuns checks what makes the unit start and stop cleanly with the
// server's real defaults, read from the config package.
func TestUnitRuns(t *testing.T) {
	u := mustParseUnit(t)
	defaults, err := config.FromMap(map[string]string{"WECHAT_TOKEN": "deploytest"})
	if err != nil {
		t.Fatal(err)
	}

	if got, _ := u.last("Service", "ExecReload"); got != "/bin/kill -HUP $MAINPID" {
		t.Errorf("ExecReload = %q; want a SIGHUP, which reloads the accounts", got)
	}
	if got, _ := u.last("Service", "ExecStart"); got != "/usr/local/bin/wxoa serve" {
		t.Errorf("ExecStart = %q; want the README's install path, %q", got, "/usr/local/bin/wxoa serve")
	}

	// Stopping must outlast the server's drain, or systemd kills it mid-way.
	stop, _ := u.last("Service", "TimeoutStopSec")
	if d, err := systemdDuration(stop); err != nil || d <= defaults.ShutdownTimeout {
		t.Errorf("TimeoutStopSec = %q (%v, %v); want longer than SHUTDOWN_TIMEOUT's default %s",
			stop, d, err, defaults.ShutdownTimeout)
	}

	// The default token file is relative to the working directory, which
	// must be the state directory: the one place ProtectSystem=strict
	// leaves writable.
	state, _ := u.last("Service", "StateDirectory")
	wd, _ := u.last("Service", "WorkingDirectory")
	if p := defaults.TokenStore.Path; p == "" || path.IsAbs(p) {
		t.Fatalf("default TOKEN_STORE path %q; this check expects a relative file path", p)
	}
	file := path.Join(wd, defaults.TokenStore.Path)
	if stateDir := "/var/lib/" + state; !strings.HasPrefix(file, stateDir+"/") {
		t.Errorf("the default token file lands at %s, outside the state directory %s", file, stateDir)
	}

	// The environment file is read by systemd as root, so it can be 0600;
	// the server, running as the dynamic user, could not read it itself.
	envFile, _ := u.last("Service", "EnvironmentFile")
	envFile = strings.TrimPrefix(envFile, "-")
	if envFile != "/etc/wxoa/wxoa.env" {
		t.Errorf("EnvironmentFile = %q; want /etc/wxoa/wxoa.env", envFile)
	}
	vars := map[string]string{}
	for _, a := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(a) {
			if k, v, ok := strings.Cut(strings.Trim(kv, `"`), "="); ok {
				vars[k] = v
			}
		}
	}
	switch v, ok := vars["ENV_FILE"]; {
	case !ok:
		t.Errorf("Environment has no ENV_FILE: the server would also read a stray .env in %s", wd)
	case v == envFile:
		t.Errorf("Environment ENV_FILE=%s: the dynamic user cannot read the root-only file that systemd already loads", v)
	}

	if got, _ := u.last("Install", "WantedBy"); got != "multi-user.target" {
		t.Errorf("[Install] WantedBy = %q; want multi-user.target, so `systemctl enable` starts it at boot", got)
	}
}
