package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wxoa/handlers"
	"wxoa/reply"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/redisurl"
	"wxoa/wechat/silenceper"
)

// serve runs the callback server and the token API until ctx ends, then
// drains in-flight requests and late forwarded answers.
func serve(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", args)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sink := newLogSink(e.stderr)
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	sinkDone := make(chan struct{})
	go func() { defer close(sinkDone); sink.run(sinkCtx) }()
	defer func() { stopSink(); <-sinkDone }() // runs last: the final lines are written
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
	// cfg's LogValue shows every setting with secrets reduced to "set".
	log.Info("listening", "addr", ln.Addr().String(), "token_api", !cfg.TokenAPIKey.Empty() && a.tokens != nil, "config", cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
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
	store, err := a.dedupStore()
	if err != nil {
		return nil, nil, err
	}
	fwd, err := reply.NewForwarder(reply.ForwardConfig{
		Client:    &http.Client{Timeout: cfg.ForwardTimeout},
		Deadline:  cfg.ReplyDeadline,
		Timeout:   cfg.ForwardTimeout,
		URL:       forwardURL,
		Deliverer: a.deliverer(),
		Once:      store,
		Logger:    a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	answers, err := reply.New(reply.Config{Rules: engine, Forwarder: fwd, Store: store, Logger: a.log})
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
	}
	if a.tokens != nil {
		d.Tokens = a.tokens
		d.JSSDK = a.jssdk()
		d.Managed = []handlers.Managed{a.tokens, a.tickets}
	}
	h, err := handlers.NewRouter(d)
	return h, fwd, err
}

// dedupStore builds where callbacks are claimed: this process's byte-bounded
// cache, behind a Redis shared by the fleet when there is one (DEDUP_STORE,
// else TOKEN_STORE's), falling back to the cache while Redis is down.
func (a *app) dedupStore() (dedup.Store, error) {
	cfg := a.cfg
	ttl := reply.DedupTTL(cfg.MaxClockSkew)
	mem := dedup.NewMemory(dedup.MemoryConfig{Bytes: int(cfg.DedupCacheBytes), TTL: ttl, MaxWait: cfg.ReplyDeadline})
	client := a.redis
	switch {
	case cfg.DedupStore.Memory:
		client = nil
	case !cfg.DedupStore.Redis.IsZero():
		client = cfg.DedupStore.Redis.NewClient()
		a.closers = append(a.closers, client)
		if err := redisurl.Ping(context.Background(), client, 2*time.Second); err != nil {
			a.log.Warn("DEDUP_STORE's Redis does not answer at start-up; retries are deduplicated per instance until it does",
				"redis", cfg.DedupStore.Redis.String(), "err", err)
		}
	}
	if client == nil {
		return mem, nil
	}
	prefix := "wxoa:"
	if cfg.AppID != "" {
		prefix += cfg.AppID + ":"
	}
	r, err := dedup.NewRedis(dedup.RedisConfig{Client: client, Prefix: prefix, TTL: ttl, MaxWait: cfg.ReplyDeadline})
	if err != nil {
		return nil, err
	}
	return dedup.WithFallback(r, mem, a.log), nil
}
