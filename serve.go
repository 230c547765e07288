package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/handlers/admin"
	"wxoa/internal/account"
	"wxoa/internal/banner"
	"wxoa/internal/logsink"
	"wxoa/internal/metrics"
	"wxoa/internal/revoke"
	"wxoa/internal/tunnel"
	"wxoa/reply"
	"wxoa/wechat/dedup"
	"wxoa/wechat/redisurl"
	"wxoa/wechat/token"
)

const serveHelp = `Runs every account's callback and, with TOKEN_API_KEY, the token API, the
drop-in token endpoints and the admin page, until SIGINT, SIGTERM or SIGQUIT
(which first logs every goroutine's stack); then finishes in-flight requests and
late deliveries within SHUTDOWN_TIMEOUT. SIGHUP re-reads ACCOUNTS_FILE and the
rules files and swaps the accounts without an outage.
  --tunnel   also open a public ngrok URL in-process (needs NGROK_AUTHTOKEN) and
             print what to paste into WeChat's console; without the authtoken,
             print how to get one or how to use the ngrok CLI, frp or cpolar
  --cpuprofile FILE
             write a CPU profile of the run to FILE (a new file), for
             go tool pprof: how the server spends its time under a real load
`

// serve runs the callback server and the token API until ctx ends, then
// drains in-flight requests and late forwarded answers. A SIGHUP reloads
// the accounts file and the rules files.
func serve(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	withTunnel := fs.Bool("tunnel", false, "open an ngrok tunnel (NGROK_AUTHTOKEN)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments besides its flags, got %q", fs.Args())
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sink, stopSink := logsink.Start(e.stderr)
	defer stopSink() // runs last: the final lines are written
	log := newLogger(cfg, sink)
	defer logPanic(log) // before the sink's last flush
	// go-redis logs through a package-level logger; route it through ours,
	// before anything dials, so JSON stays JSON.
	redisurl.SetLogger(log)
	tuneGC(e.getenv, cfg.DedupCacheBytes, log)
	a := newApp(cfg, log)
	defer a.Close()
	a.access = newAccessLog(cfg, log, sink)
	s, err := a.server()
	if err != nil {
		return err
	}
	ctx, stopSignals := e.watchSignals(ctx, log, func() { a.reload(e, s.router) })
	defer stopSignals()
	ln, err := listen(cfg, log)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	srv := newHTTPServer(s.router, log, ln)
	defer srv.Close() // a no-op after Shutdown; after a panic, no listener is left behind
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	var publicURL string
	if *withTunnel {
		tln, url, err := tunnel.ForServer(ctx, cfg.NgrokAuthtoken.Reveal(), ln.Addr(), consoles(cfg), log, e.stdout)
		if err != nil {
			srv.Close()
			return fmt.Errorf("tunnel: %w", err)
		}
		if tln != nil {
			publicURL = url
			go func() { served <- srv.Serve(tln) }()
		}
	}
	fmt.Fprint(e.stdout, banner.Banner(a.bannerInfo(ln.Addr().String(), publicURL)))
	// cfg's LogValue shows every setting with secrets reduced to "set".
	log.Info("listening", "addr", ln.Addr().String(), "public_url", publicURL, "config", cfg)

	select {
	case err := <-served:
		if ctx.Err() == nil { // a tunnel's listener closes itself when ctx ends
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if ferr := s.forwarder.Shutdown(sctx); ferr != nil {
		log.Error("late forwarded answers lost at shutdown", "err", ferr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// startCPUProfile profiles the running server until stop, for measuring
// it under a real load (bench/run.sh) rather than only in benchmarks.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// logPanic puts a panic in serve into the log, where a collector sees it
// (the runtime's own report goes to stderr as plain text), then lets it go
// on: deferred before the sink stops, it is flushed with the lines before
// it.
func logPanic(log *slog.Logger) {
	if p := recover(); p != nil {
		log.Error("panic in serve", "panic", p, "stack", string(debug.Stack()))
		panic(p)
	}
}

// reload re-reads the accounts file (and with it the rules files) and
// swaps the accounts, on SIGHUP: a file with errors is logged with every
// problem and the running accounts are kept.
func (a *app) reload(e env, router *handlers.Router) {
	a.log.Info("SIGHUP received: reloading the accounts and rules", "accounts_file", a.cfg.AccountsFile)
	specs, err := a.cfg.ReloadAccounts(e.getenv)
	if err == nil {
		var ch account.Change
		if ch, err = a.accounts.Reload(specs, router.SetAccounts); err == nil {
			a.log.Info("accounts reloaded", "change", ch)
			return
		}
	}
	a.log.Error("reload failed; the running accounts are kept", "err", err)
}

// server is what serve runs: the router over the accounts and the
// forwarder they share.
type server struct {
	router    *handlers.Router
	forwarder *reply.HTTPForwarder
}

// server builds the metrics, the dedup store and the forwarder every
// account's callback shares, the accounts, and the router over them.
func (a *app) server() (*server, error) {
	cfg := a.cfg
	m := metrics.New(metrics.WithLogger(a.log))
	store, err := a.dedupStore(m)
	if err != nil {
		return nil, err
	}
	var forwardURL string
	if cfg.ForwardURL != nil {
		forwardURL = cfg.ForwardURL.String()
	}
	fwd, err := reply.NewForwarder(reply.ForwardConfig{
		Client:   &http.Client{Timeout: cfg.ForwardTimeout},
		Deadline: cfg.ReplyDeadline,
		Timeout:  cfg.ForwardTimeout,
		URL:      forwardURL,
		Once:     store,
		Logger:   a.log,
	})
	if err != nil {
		return nil, err
	}
	m.WatchForwards(func() metrics.ForwardCounts { return metrics.ForwardCounts(fwd.Stats()) })
	traffic := &admin.Traffic{} // the callbacks record, the admin page shows
	d := handlers.Deps{
		Logger:         a.log,
		AccessLog:      a.access,
		MaxClockSkew:   cfg.MaxClockSkew,
		Forwards:       fwd,
		TrustedProxies: cfg.TrustedProxies,
		APIKey:         cfg.TokenAPIKey,
		Observer:       m,
		Metrics:        m.Handler(),
		Traffic:        traffic,
		Admin: &admin.Config{Store: cfg.TokenStore.String(), Traffic: traffic, Logger: a.log, Secure: cfg.AdminSecureCookie,
			Revocations: a.revocations()},
	}
	s := &server{forwarder: fwd}
	sh := a.shared()
	sh.Dedup, sh.Forwarder, sh.Metrics = store, fwd, m
	err = a.openAccounts(sh, cfg.Accounts, func(set *handlers.Accounts) error {
		d.Accounts = set
		s.router, err = handlers.NewRouter(d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// revocations is where the admin page keeps sign-outs: where the fleet
// shares the tokens (the token store's Redis, or a file beside its token
// files), so a sign-out holds on every instance and after a restart; with
// TOKEN_STORE=memory, this process (and a restart signs everyone out).
func (a *app) revocations() admin.Revocations {
	switch a.cfg.TokenStore.Kind {
	case token.KindRedis:
		return revoke.NewRedis(a.redis, "")
	case token.KindFile:
		f, err := revoke.NewFile(filepath.Join(filepath.Dir(a.cfg.TokenStore.Path), config.AdminSessionsFile), nil)
		if err == nil {
			return f
		}
		a.log.Warn("admin sign-outs kept in memory: the token directory is not usable", "err", err)
	}
	return nil
}

// bannerInfo is what start-up prints about this server.
func (a *app) bannerInfo(addr, publicURL string) banner.Info {
	cfg := a.cfg
	tokenAPI := !cfg.TokenAPIKey.Empty() && slices.ContainsFunc(a.accounts.All(), func(x *account.Account) bool { return x.Tokens != nil })
	info := banner.Info{
		Version: banner.BuildVersion(), EnvFile: cfg.EnvFile, Store: cfg.TokenStore.String(), ListenAddr: addr, PublicURL: publicURL,
		APIs: []banner.API{
			{Name: "token API", On: tokenAPI},
			{Name: "drop-in /cgi-bin/token", On: tokenAPI},
			{Name: "JS-SDK", On: tokenAPI},
			{Name: "admin /admin", On: tokenAPI},
			{Name: "/metrics", On: true},
		},
	}
	for _, acct := range a.accounts.All() {
		sp := acct.Spec
		info.Accounts = append(info.Accounts, banner.Account{Name: sp.Name, Kind: string(sp.Kind),
			CallbackPath: sp.CallbackPath, Callback: sp.Callback(), AESKey: !sp.EncodingAESKey.Empty()})
	}
	return info
}

// consoles are the values to paste into WeChat's console for each account
// with a callback, printed with --tunnel.
func consoles(cfg *config.Config) []tunnel.Console {
	var cs []tunnel.Console
	for _, acct := range cfg.Accounts {
		if acct.Callback() {
			cs = append(cs, tunnel.Console{Account: acct.Name, CallbackPath: acct.CallbackPath,
				Token: acct.Token.Reveal(), AESKey: acct.EncodingAESKey.Reveal()})
		}
	}
	return cs
}

// dedupStore builds where callbacks are claimed: this process's byte-bounded
// cache, behind a Redis shared by the fleet when there is one (DEDUP_STORE,
// else TOKEN_STORE's), falling back to the cache while Redis is down; m
// exports both. Every account claims in it under its own namespace.
func (a *app) dedupStore(m *metrics.Metrics) (dedup.Store, error) {
	cfg := a.cfg
	ttl := reply.DedupTTL(cfg.MaxClockSkew)
	mem := dedup.NewMemory(dedup.MemoryConfig{Bytes: int(cfg.DedupCacheBytes), TTL: ttl, MaxWait: cfg.ReplyDeadline})
	client := a.redis
	switch {
	case cfg.DedupStore.Memory:
		client = nil
	case !cfg.DedupStore.Redis.IsZero():
		client = a.openRedis(cfg.DedupStore.Redis, "DEDUP_STORE", "retries are deduplicated per instance")
	}
	if client == nil {
		m.WatchDedup(mem, nil)
		return mem, nil
	}
	r, err := dedup.NewRedis(dedup.RedisConfig{Client: client, Prefix: "wxoa:", TTL: ttl, MaxWait: cfg.ReplyDeadline,
		MaxBytes: cfg.DedupRedisBytes})
	if err != nil {
		return nil, err
	}
	fb := dedup.WithFallback(r, mem, a.log)
	// Closed before the Redis client (closers run last first): the
	// replies' writes still queued reach Redis for their retries.
	a.closers = append(a.closers, fb)
	m.WatchDedup(mem, fb)
	m.WatchDedupRedis(r)
	return fb, nil
}
