package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"wxoa/config"
	"wxoa/wechat/wechattest"
)

const fakeHelp = `Runs the fake WeChat API of the tests (wechattest) until interrupted, so that
serve, token, menu and your own services can be tried with no account and no
internet. It mints tokens like WeChat (expiry, replacement, stable_token), stores
menus, accepts customer-service messages, and serves WeCom applications under
/wecom (gettoken returns the token held while it is valid, WeCom's errcodes). It
prints a complete .env block to paste (with a fresh TOKEN_API_KEY), and with
several apps an accounts file for ACCOUNTS_FILE.
  --addr HOST:PORT          where to listen (default 127.0.0.1:9999; a port of 0 picks one)
  --expires-in DURATION     lifetime of each token, whole seconds (default 2h, as WeChat)
  --overlap DURATION        how long a replaced token keeps working (default 5m, as WeChat)
  --app APPID:SECRET        an Official Account (repeatable; without it or
                            --mini-program, wxtest0000000000:testsecret is served)
  --mini-program APPID:SECRET   a Mini Program (repeatable)
  --wecom CORPID:AGENTID:SECRET a WeCom application (repeatable)
  --write-env PATH          write the .env block to PATH (mode 0600; never overwrites)
  --write-accounts PATH     write the accounts file to PATH (likewise); implies ACCOUNTS_FILE
While it runs, retire an app's token the way another system fetching one would (a
token manager then sees its token rejected and refreshes: the quota guard's
"rejected" path), or revoke every token of an app (for WeCom: ?corpid=&agentid=):
  curl -X POST 'http://HOST:PORT/wechattest/fetch-elsewhere?appid=APPID'
  curl -X POST 'http://HOST:PORT/wechattest/invalidate?appid=APPID'
`

// fakeApp is one account the fake serves, as a --app, --mini-program or
// --wecom flag gives it.
type fakeApp struct {
	kind                config.Kind
	id, agentID, secret string
}

// fakeApps collects the app flags in command-line order, each flag one of
// its kinds. A bad value is collected too, not returned: the flag package
// would quote it, secret and all.
type fakeApps struct {
	list *[]fakeApp
	errs *[]error
	kind config.Kind
}

func (f fakeApps) String() string { return "" }

func (f fakeApps) Set(v string) error {
	if err := f.add(v); err != nil {
		*f.errs = append(*f.errs, fmt.Errorf("--%s: %w (value not shown)", flagName[f.kind], err))
	}
	return nil
}

var flagName = map[config.Kind]string{
	config.KindOfficialAccount: "app", config.KindMiniProgram: "mini-program", config.KindWeCom: "wecom",
}

func (f fakeApps) add(v string) error {
	parts := strings.Split(v, ":")
	a, wecom := fakeApp{kind: f.kind}, f.kind == config.KindWeCom
	switch {
	case wecom && len(parts) == 3:
		a.id, a.agentID, a.secret = parts[0], parts[1], parts[2]
		if _, err := strconv.ParseUint(a.agentID, 10, 63); err != nil {
			return errors.New("the agent id must be digits")
		}
	case !wecom && len(parts) == 2:
		a.id, a.secret = parts[0], parts[1]
	case wecom:
		return errors.New("want CORPID:AGENTID:SECRET")
	default:
		return errors.New("want APPID:SECRET")
	}
	if a.id == "" || a.secret == "" {
		return errors.New("the id and the secret must not be empty")
	}
	for _, b := range *f.list {
		bWeCom := b.kind == config.KindWeCom
		if a.id == b.id && wecom == bWeCom && (!wecom || a.agentID == b.agentID || a.secret == b.secret) {
			return fmt.Errorf("%s is given twice", a.id)
		}
	}
	*f.list = append(*f.list, a)
	return nil
}

// fakeFlags is the command line of `fake`.
type fakeFlags struct {
	addr                    string
	expiresIn, overlap      time.Duration
	writeEnv, writeAccounts string
	apps                    []fakeApp // the first is the fake's default app, never WeCom
}

func parseFake(e env, args []string) (fakeFlags, error) {
	var f fakeFlags
	set := flag.NewFlagSet("fake", flag.ContinueOnError)
	set.SetOutput(e.stderr)
	set.StringVar(&f.addr, "addr", "127.0.0.1:9999", "listen address")
	set.DurationVar(&f.expiresIn, "expires-in", 7200*time.Second, "token lifetime")
	set.DurationVar(&f.overlap, "overlap", 5*time.Minute, "how long a replaced token keeps working")
	set.StringVar(&f.writeEnv, "write-env", "", "write the .env block to this file")
	set.StringVar(&f.writeAccounts, "write-accounts", "", "write the accounts file to this file")
	var errs []error
	for _, k := range []config.Kind{config.KindOfficialAccount, config.KindMiniProgram, config.KindWeCom} {
		set.Var(fakeApps{&f.apps, &errs, k}, flagName[k], "an app of kind "+string(k))
	}
	if err := set.Parse(args); err != nil {
		return f, err
	}
	switch {
	case len(errs) > 0:
		return f, errors.Join(errs...)
	case set.NArg() > 0:
		return f, fmt.Errorf("unexpected arguments %q", set.Args())
	case !wholeSeconds(f.expiresIn) || !wholeSeconds(f.overlap):
		return f, fmt.Errorf("--expires-in %v and --overlap %v must be whole seconds, at least 1s", f.expiresIn, f.overlap)
	}
	for _, p := range []string{f.writeEnv, f.writeAccounts} {
		if _, err := os.Lstat(p); p != "" && err == nil {
			return f, fmt.Errorf("%s exists; not overwriting it (remove it or name another file)", p)
		}
	}
	// The first Official Account or Mini Program is the fake's default app;
	// without one, the built-in one is (its id is filled in once it runs).
	if i := slices.IndexFunc(f.apps, func(a fakeApp) bool { return a.kind != config.KindWeCom }); i >= 0 {
		first := f.apps[i]
		f.apps = slices.Insert(slices.Delete(f.apps, i, i+1), 0, first)
	} else {
		f.apps = slices.Insert(f.apps, 0, fakeApp{kind: config.KindOfficialAccount})
	}
	return f, nil
}

// fakeCommand runs `fake`: wechattest.Server on a fixed address, with the
// apps of the command line.
func fakeCommand(ctx context.Context, e env, args []string) error {
	f, err := parseFake(e, args)
	if err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	apps := f.apps
	s, err := wechattest.Listen(f.addr, wechattest.Options{
		AppID: apps[0].id, AppSecret: apps[0].secret, ExpiresIn: f.expiresIn, Overlap: f.overlap, Control: true,
	})
	if err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	defer s.Close()
	apps[0].id, apps[0].secret = s.AppID(), s.AppSecret()
	for _, a := range apps[1:] {
		if a.kind == config.KindWeCom {
			s.AddWeComApp(a.id, a.agentID, a.secret)
		} else {
			s.AddApp(a.id, a.secret)
		}
	}
	several := len(apps) > 1 || apps[0].kind != config.KindOfficialAccount || f.writeAccounts != ""
	envBlock, accounts, err := fakeConfig(s, apps, several, f.writeAccounts)
	if err == nil {
		err = writeNew(f.writeAccounts, accounts)
	}
	if err == nil {
		err = writeNew(f.writeEnv, envBlock)
	}
	if err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	printFake(e.stdout, s, apps, envBlock, accounts, f.writeEnv, f.writeAccounts)
	<-ctx.Done()
	return nil
}

func wholeSeconds(d time.Duration) bool { return d >= time.Second && d%time.Second == 0 }

// fakeConfig renders the .env block and, with several, the accounts file,
// with fresh callback tokens and a fresh TOKEN_API_KEY.
func fakeConfig(s *wechattest.Server, apps []fakeApp, several bool, accountsPath string) (env, accounts []byte, err error) {
	// A store of its own: fake tokens must never be served after pointing
	// the same checkout at the real WeChat.
	tail := "TOKEN_API_KEY=" + randomHex(24) + "\nTOKEN_STORE=file:data/fake/access_token.json\n"
	if !several {
		return fmt.Appendf(nil, "WECHAT_API_BASE=%s\nWECHAT_APP_ID=%s\nWECHAT_APP_SECRET=%s\nWECHAT_TOKEN=%s\n%s",
			s.URL, s.AppID(), s.AppSecret(), randomHex(8), tail), nil, nil
	}
	if accounts, err = fakeAccounts(s, apps); err != nil {
		return nil, nil, err
	}
	return fmt.Appendf(nil, "ACCOUNTS_FILE=%s\nWECHAT_API_BASE=%s\nWECOM_API_BASE=%s\n%s",
		cmp.Or(accountsPath, "accounts.yaml"), s.URL, s.WeComURL, tail), accounts, nil
}

// fakeAccountEntry is one entry of ACCOUNTS_FILE (see config.Account).
type fakeAccountEntry struct {
	Name           string `yaml:"name"`
	Kind           string `yaml:"kind"`
	AppID          string `yaml:"app_id,omitempty"`
	AppSecret      string `yaml:"app_secret,omitempty"`
	CorpID         string `yaml:"corp_id,omitempty"`
	CorpSecret     string `yaml:"corp_secret,omitempty"`
	AgentID        string `yaml:"agent_id,omitempty"`
	Token          string `yaml:"token"`
	EncodingAESKey string `yaml:"encoding_aes_key,omitempty"`
	APIBase        string `yaml:"api_base"`
}

// fakeAccounts renders the accounts file of the apps, each with a callback.
func fakeAccounts(s *wechattest.Server, apps []fakeApp) ([]byte, error) {
	var list []fakeAccountEntry
	seen := map[string]bool{}
	for i, a := range apps {
		e := fakeAccountEntry{Name: accountName(a, i, seen), Kind: string(a.kind), Token: randomHex(8), APIBase: s.URL}
		if a.kind == config.KindWeCom {
			// WeCom's callbacks are always encrypted. The console's keys are
			// 43 letters and digits.
			e.CorpID, e.CorpSecret, e.AgentID, e.APIBase = a.id, a.secret, a.agentID, s.WeComURL
			e.EncodingAESKey = strings.NewReplacer("+", "A", "/", "B").Replace(base64.RawStdEncoding.EncodeToString(randomBytes(32)))
		} else {
			e.AppID, e.AppSecret = a.id, a.secret
		}
		list = append(list, e)
	}
	var y bytes.Buffer
	enc := yaml.NewEncoder(&y)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Accounts []fakeAccountEntry `yaml:"accounts"`
	}{list}); err != nil {
		return nil, err
	}
	return y.Bytes(), nil
}

// accountName names an account by its id where that is a valid name
// (appids are lowercase letters and digits), else by its kind and place.
func accountName(a fakeApp, i int, seen map[string]bool) string {
	name := strings.ToLower(a.id)
	if a.kind == config.KindWeCom {
		name += "-" + a.agentID
	}
	if !config.AccountNamePattern.MatchString(name) || seen[name] {
		name = string(a.kind) + "-" + strconv.Itoa(i+1)
	}
	seen[name] = true
	return name
}

// randomBytes never fails: crypto/rand.Read does not return an error.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// writeNew writes data to a new file at path, readable by its owner only:
// it holds secrets. It never replaces an existing file. An empty path
// writes nothing.
func writeNew(path string, data []byte) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; not overwriting it (remove it or name another file)", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printFake(w io.Writer, s *wechattest.Server, apps []fakeApp, envBlock, accounts []byte, envPath, accountsPath string) {
	fmt.Fprintf(w, "fake WeChat API on %s, WeCom's on %s (Ctrl-C stops it).\n", s.URL, s.WeComURL)
	if envPath != "" {
		fmt.Fprintf(w, "Wrote the configuration to %s (mode 0600).\n", envPath)
	} else {
		fmt.Fprintf(w, "Point wxoa at it: paste this into .env (or run with --write-env .env):\n\n%s\n", envBlock)
	}
	switch {
	case accountsPath != "":
		fmt.Fprintf(w, "Wrote the accounts file to %s (mode 0600).\n", accountsPath)
	case accounts != nil:
		fmt.Fprintf(w, "and this into accounts.yaml (or run with --write-accounts accounts.yaml):\n\n%s\n", accounts)
	}
	q := "appid=" + apps[0].id // never a WeCom application: see fakeCommand
	fmt.Fprintf(w, "Retire a token as another system fetching one would (wxoa sees it rejected and refreshes):\n"+
		"  curl -X POST '%s/wechattest/fetch-elsewhere?%s'\nRevoke every token of an app: .../wechattest/invalidate?%s\n", s.URL, q, q)
}
