package deploy

import (
	"encoding/json"
	"fmt"
	"go/version"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"wxoa/config"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Line int    // where it starts, 1-based
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

// stage is one FROM and what follows it.
type stage struct {
	From  string // the base image, without "AS name"
	Instr []instruction
}

// parseDockerfile reads the instructions the way Docker does for what this
// test needs: "#" lines are comments (inside a continuation too), a line
// ending in "\" continues on the next. Parser directives and a changed
// escape character are not supported.
func parseDockerfile(src string) ([]stage, error) {
	var (
		stages  []stage
		cur     *instruction
		pending []string
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		cur.Args = strings.TrimSpace(strings.Join(pending, " "))
		in := *cur
		cur, pending = nil, nil
		if in.Cmd == "FROM" {
			f := strings.Fields(withoutFlags(in.Args)) // FROM --platform=...
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", in.Line)
			}
			stages = append(stages, stage{From: f[0]})
			return nil
		}
		if len(stages) == 0 {
			if in.Cmd == "ARG" {
				return nil // an ARG before the first FROM belongs to no stage
			}
			return fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
		}
		s := &stages[len(stages)-1]
		s.Instr = append(s.Instr, in)
		return nil
	}
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur == nil {
			cmd, rest, _ := strings.Cut(line, " ")
			cur = &instruction{Line: i + 1, Cmd: strings.ToUpper(cmd)}
			line = rest
		}
		more := strings.HasSuffix(line, `\`)
		pending = append(pending, strings.TrimSpace(strings.TrimSuffix(line, `\`)))
		if !more {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: %s continues past the end of the file", cur.Line, cur.Cmd)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

func mustParseDockerfile(tb testing.TB) []stage {
	tb.Helper()
	src, err := os.ReadFile(dockerfilePath)
	if err != nil {
		tb.Fatal(err)
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		tb.Fatalf("parse %s: %v", dockerfilePath, err)
	}
	return stages
}

// all returns every cmd instruction in s.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instr {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last returns the arguments of the last cmd instruction in s, which is the
// one in effect for USER, WORKDIR, HEALTHCHECK, ENTRYPOINT and CMD.
func (s stage) last(cmd string) (string, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1].Args, true
}

// env returns the stage's ENV settings, in "K=V ..." or "K V" form; quotes
// around a value are removed, values with spaces are not supported.
func (s stage) env() map[string]string {
	m := map[string]string{}
	for _, in := range s.all("ENV") {
		f := strings.Fields(in.Args)
		if len(f) == 2 && !strings.Contains(f[0], "=") {
			m[f[0]] = strings.Trim(f[1], `"`)
			continue
		}
		for _, kv := range f {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

// execForm decodes a JSON array argument such as ["/wxoa", "serve"].
func execForm(args string) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("%q is not a non-empty JSON array (exec form)", args)
	}
	return argv, nil
}

// withoutFlags drops leading --flag=value options (RUN --mount=...,
// HEALTHCHECK --interval=...).
func withoutFlags(args string) string {
	for strings.HasPrefix(args, "--") {
		_, rest, _ := strings.Cut(args, " ")
		args = strings.TrimSpace(rest)
	}
	return args
}

// imageRef splits an image reference into the last element of its name and
// its tag: "gcr.io/distroless/static-debian12:nonroot" is
// ("static-debian12", "nonroot"). A registry's port is not taken for a tag.
func imageRef(ref string) (name, tag string) {
	ref, _, _ = strings.Cut(ref, "@") // a pinned digest
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return path.Base(ref), tag
}

// nonRootUser reports whether a USER value names someone other than root.
func nonRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name != "" && name != "root" && name != "0"
}

// TestDockerfile checks the final image's promises against the server's own
// configuration parser: it runs as non-root, the token file named by
// TOKEN_STORE is in a VOLUME (and the working directory), LISTEN_ADDR's
// port is exposed, and the HEALTHCHECK runs the image's own binary, since
// the base has no curl.
func TestDockerfile(t *testing.T) {
	stages := mustParseDockerfile(t)
	final := stages[len(stages)-1]

	user, hasUser := final.last("USER")
	switch {
	case hasUser && !nonRootUser(user):
		t.Errorf("final stage: USER %s; want a non-root user", user)
	case !hasUser && !strings.Contains(final.From, "nonroot"):
		t.Errorf("final stage: no USER and base %s is not a nonroot image", final.From)
	}

	// WeChat's API is HTTPS: the image must carry CA certificates.
	if base, _ := imageRef(final.From); base == "scratch" {
		copiesCerts := false
		for _, in := range final.all("COPY") {
			copiesCerts = copiesCerts || strings.Contains(in.Args, "ca-certificates")
		}
		if !copiesCerts {
			t.Errorf("final stage is FROM scratch and copies no CA certificates")
		}
	} else if !strings.Contains(final.From, "distroless/static") {
		t.Errorf("final stage FROM %s; want distroless/static (static binary, CA certificates, no shell)", final.From)
	}

	env := final.env()
	env["WECHAT_TOKEN"] = "deploytest" // the one required variable, given at run time
	cfg, err := config.FromMap(env)
	if err != nil {
		t.Fatalf("the image's ENV does not configure the server:\n%v", err)
	}
	if cfg.TokenStore.Path == "" || !path.IsAbs(cfg.TokenStore.Path) {
		t.Errorf("ENV TOKEN_STORE = %q; want file: with an absolute path (into the volume)", env["TOKEN_STORE"])
	}
	stateDir := path.Dir(cfg.TokenStore.Path)
	var volumes []string
	for _, in := range final.all("VOLUME") {
		if v, err := execForm(in.Args); err == nil {
			volumes = append(volumes, v...)
		} else {
			volumes = append(volumes, strings.Fields(in.Args)...)
		}
	}
	if !slices.Contains(volumes, stateDir) {
		t.Errorf("VOLUME %q; want the token file's directory %s among them", volumes, stateDir)
	}
	if wd, _ := final.last("WORKDIR"); wd != stateDir {
		t.Errorf("WORKDIR %q; want the state directory %s, so relative paths land in the volume", wd, stateDir)
	}
	_, port, err := net.SplitHostPort(cfg.ListenAddr)
	if err != nil {
		t.Fatalf("LISTEN_ADDR %q: %v", cfg.ListenAddr, err)
	}
	exposed := false
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.Args) {
			exposed = exposed || strings.TrimSuffix(p, "/tcp") == port
		}
	}
	if !exposed {
		t.Errorf("LISTEN_ADDR %s: port %s is not EXPOSEd", cfg.ListenAddr, port)
	}

	entry, ok := final.last("ENTRYPOINT")
	if !ok {
		t.Fatalf("final stage has no ENTRYPOINT")
	}
	entryArgv, err := execForm(entry)
	if err != nil {
		t.Fatalf("ENTRYPOINT: %v", err)
	}
	hc, ok := final.last("HEALTHCHECK")
	if !ok || strings.EqualFold(strings.TrimSpace(hc), "NONE") {
		t.Fatalf("final stage has no HEALTHCHECK")
	}
	cmd, args, _ := strings.Cut(withoutFlags(hc), " ")
	if !strings.EqualFold(cmd, "CMD") {
		t.Fatalf("HEALTHCHECK %q; want HEALTHCHECK [options] CMD [...]", hc)
	}
	hcArgv, err := execForm(strings.TrimSpace(args))
	if err != nil {
		t.Fatalf("HEALTHCHECK CMD: %v (the base has no shell for the shell form)", err)
	}
	if hcArgv[0] != entryArgv[0] {
		t.Errorf("HEALTHCHECK runs %s; want the image's own binary %s (there is no curl or wget)", hcArgv[0], entryArgv[0])
	}
}

// TestDockerfileGoVersion keeps the builder image in step with go.mod: the
// official images set GOTOOLCHAIN=local, so an older Go fails the build.
func TestDockerfileGoVersion(t *testing.T) {
	stages := mustParseDockerfile(t)
	gomod, err := os.ReadFile(repoRoot + "/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	want := "go" + string(m[1])
	for _, s := range stages {
		name, tag := imageRef(s.From)
		if name != "golang" {
			continue
		}
		tag, _, _ = strings.Cut(tag, "-") // 1.26.8-bookworm
		if got := "go" + tag; !version.IsValid(got) || version.Compare(got, want) < 0 {
			t.Errorf("builder FROM %s; want golang:X with X >= go.mod's %s", s.From, want)
		}
		return
	}
	t.Errorf("no stage is FROM golang")
}
