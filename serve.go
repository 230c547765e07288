package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/handlers/admin"
	"wxoa/internal/banner"
	"wxoa/internal/logsink"
	"wxoa/internal/metrics"
	"wxoa/internal/tunnel"
	"wxoa/reply"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/menu"
	"wxoa/wechat/redisurl"
	"wxoa/wechat/silenceper"
)

const serveHelp = `Runs the callback server (WECHAT_CALLBACK_PATH) and, with TOKEN_API_KEY, the
token API, the drop-in token endpoints and the admin page, until SIGINT/SIGTERM;
then finishes in-flight requests and late deliveries within SHUTDOWN_TIMEOUT.
  --tunnel   also open a public ngrok URL in-process (needs NGROK_AUTHTOKEN) and
             print what to paste into WeChat's console; without the authtoken,
             print how to get one or how to use the ngrok CLI, frp or cpolar
`

// serve runs the callback server and the token API until ctx ends, then
// drains in-flight requests and late forwarded answers.
func serve(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	withTunnel := fs.Bool("tunnel", false, "open an ngrok tunnel (NGROK_AUTHTOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments besides --tunnel, got %q", fs.Args())
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sink, stopSink := logsink.Start(e.stderr)
	defer stopSink() // runs last: the final lines are written
	log := newLogger(cfg, sink)
	// go-redis logs through a package-level logger; route it through ours,
	// before anything dials, so JSON stays JSON.
	redisurl.SetLogger(log)
	a, err := newApp(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.calls != nil {
		// The SDK only knows its package-level client. Only the server makes
		// SDK calls, so this is the one place it is set, before any of them.
		silenceper.Use(a.calls.HTTPClient())
	}
	h, fwd, err := a.router()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	var publicURL string
	if *withTunnel {
		console := tunnel.Console{CallbackPath: cfg.CallbackPath, Token: cfg.Token.Reveal(), AESKey: cfg.EncodingAESKey.Reveal()}
		tln, url, err := tunnel.ForServer(ctx, cfg.NgrokAuthtoken.Reveal(), ln.Addr(), console, log, e.stdout)
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
	if ferr := fwd.Shutdown(sctx); ferr != nil {
		log.Error("late forwarded answers lost at shutdown", "err", ferr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// bannerInfo is what start-up prints about this server.
func (a *app) bannerInfo(addr, publicURL string) banner.Info {
	cfg := a.cfg
	tokenAPI := !cfg.TokenAPIKey.Empty() && a.tokens != nil
	return banner.Info{
		Version: banner.BuildVersion(), EnvFile: cfg.EnvFile, AESKey: !cfg.EncodingAESKey.Empty(),
		Store: cfg.TokenStore.String(), ListenAddr: addr, CallbackPath: cfg.CallbackPath, PublicURL: publicURL,
		APIs: []banner.API{
			{Name: "token API", On: tokenAPI},
			{Name: "drop-in /cgi-bin/token", On: tokenAPI},
			{Name: "JS-SDK", On: tokenAPI},
			{Name: "admin /admin", On: tokenAPI},
			{Name: "/metrics", On: true},
		},
	}
}

// router builds the HTTP handler from the configuration and the app.
func (a *app) router() (http.Handler, *reply.HTTPForwarder, error) {
	cfg := a.cfg
	engine, err := rules.Load(cfg.RulesFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reply rules:\n%w", err)
	}
	var forwardURL string
	if cfg.ForwardURL != nil {
		forwardURL = cfg.ForwardURL.String()
	} else if names := engine.ForwardsWithoutURL(); len(names) > 0 {
		return nil, nil, fmt.Errorf("reply rules %q forward without a url: and FORWARD_URL is not set", names)
	}
	var crypter *wechat.Crypter
	if !cfg.EncodingAESKey.Empty() {
		if crypter, err = wechat.NewCrypter(cfg.EncodingAESKey.Reveal(), cfg.AppID); err != nil {
			return nil, nil, err
		}
	}
	m := metrics.New(metrics.WithLogger(a.log))
	store, err := a.dedupStore(m)
	if err != nil {
		return nil, nil, err
	}
	fwd, err := reply.NewForwarder(reply.ForwardConfig{
		Client:    &http.Client{Timeout: cfg.ForwardTimeout},
		Deadline:  cfg.ReplyDeadline,
		Timeout:   cfg.ForwardTimeout,
		URL:       forwardURL,
		Deliverer: a.deliverer,
		Once:      store,
		Logger:    a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	m.WatchForwards(func() metrics.ForwardCounts { return metrics.ForwardCounts(fwd.Stats()) })
	answers, err := reply.New(reply.Config{Rules: engine, Forwarder: fwd, Store: store, Logger: a.log, Observer: m,
		BindQueries: true})
	if err != nil {
		return nil, nil, err
	}
	d := handlers.Deps{
		Logger:         a.log,
		CallbackPath:   cfg.CallbackPath,
		Callback:       handlers.CallbackConfig{Token: cfg.Token, Crypter: crypter, MaxClockSkew: cfg.MaxClockSkew},
		Answerer:       answers,
		Forwards:       fwd,
		TrustedProxies: cfg.TrustedProxies,
		APIKey:         cfg.TokenAPIKey,
		AppID:          cfg.AppID,
		AppSecret:      cfg.AppSecret,
		Observer:       m,
		Metrics:        m.Handler(),
	}
	if a.tokens != nil {
		if err := m.WatchTokens(a.tokens, a.tickets); err != nil {
			return nil, nil, err
		}
		traffic := &admin.Traffic{}
		d.Tokens, d.Traffic = a.tokens, traffic
		d.JSSDK = &jssdk.Signer{AppID: cfg.AppID, Tickets: a.tickets}
		d.Managed = []handlers.Managed{a.tokens, a.tickets}
		d.Admin = &admin.Config{Tokens: a.tokens, Store: cfg.TokenStore.String(), CallbackMode: callbackMode(cfg),
			CallbackPath: cfg.CallbackPath, Traffic: traffic, Logger: a.log, Secure: cfg.AdminSecureCookie,
			Menu: admin.MenuFunc(func(ctx context.Context) (json.RawMessage, error) { return menu.Fetch(ctx, a.calls) })}
	}
	h, err := handlers.NewRouter(d)
	return h, fwd, err
}

func callbackMode(cfg *config.Config) string {
	if cfg.EncodingAESKey.Empty() {
		return "plaintext"
	}
	return "compatible/safe"
}

// dedupStore builds where callbacks are claimed: this process's byte-bounded
// cache, behind a Redis shared by the fleet when there is one (DEDUP_STORE,
// else TOKEN_STORE's), falling back to the cache while Redis is down; m
// exports both.
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
	prefix := "wxoa:"
	if cfg.AppID != "" {
		prefix += cfg.AppID + ":"
	}
	r, err := dedup.NewRedis(dedup.RedisConfig{Client: client, Prefix: prefix, TTL: ttl, MaxWait: cfg.ReplyDeadline,
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
