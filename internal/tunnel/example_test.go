package tunnel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"wxoa/internal/tunnel"
)

// Example shows serve's wiring for --tunnel: the server keeps its local
// listener and also serves on the tunnel's; the console values go to stdout,
// never to the log. Not run: it needs ngrok.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	console := tunnel.Console{CallbackPath: "/wechat", Token: "mytoken123", AESKey: ""}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second}

	ln, err := net.Listen("tcp", ":8080")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()

	tln, publicURL, err := tunnel.Opener{}.Open(ctx, os.Getenv("NGROK_AUTHTOKEN"), log)
	switch {
	case errors.Is(err, tunnel.ErrNoAuthtoken):
		log.Warn("no tunnel: NGROK_AUTHTOKEN is not set")
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		fmt.Print(tunnel.Help(port, console))
	case err != nil:
		panic(err)
	default:
		log.Info("tunnel open", "url", publicURL)
		fmt.Print(tunnel.ConsoleValues(publicURL, console))
		go func() { served <- srv.Serve(tln) }()
	}

	select {
	case err := <-served:
		// The tunnel's listener closes itself when ctx ends, so a Serve
		// error after that is the start of shutdown, not a failure.
		if ctx.Err() == nil {
			panic(err)
		}
	case <-ctx.Done():
	}
	// Shutdown closes both listeners; the tunnel stays up until the
	// requests in flight are answered.
	_ = srv.Shutdown(context.Background())
}
