package tunnel

import (
	"context"
	"log/slog"
	"net"

	"golang.ngrok.com/ngrok/v2"
)

// Ngrok is the Dialer for ngrok's cloud, through golang.ngrok.com/ngrok/v2:
// an agent session authenticated with authtoken and one HTTPS endpoint on a
// random ngrok domain. ngrok terminates TLS, so the listener's connections
// carry plain HTTP. Its own logs go to log (slog, so JSON stays JSON). ctx
// ends the session: ngrok watches it, and Disconnect makes sure.
//
// It is the only code here that needs the internet and an account, so it is
// kept this small and not tested; Open's tests use a fake Dialer.
// https://pkg.go.dev/golang.ngrok.com/ngrok/v2
func Ngrok(ctx context.Context, authtoken string, log *slog.Logger) (net.Listener, string, error) {
	// NewAgent, not ngrok.Listen: the package's DefaultAgent reads
	// NGROK_AUTHTOKEN itself and logs nowhere.
	agent, err := ngrok.NewAgent(ngrok.WithAuthtoken(authtoken), ngrok.WithLogger(log))
	if err != nil {
		return nil, "", err
	}
	ln, err := agent.Listen(ctx, ngrok.WithDescription("wxoa serve --tunnel"))
	if err != nil {
		_ = agent.Disconnect()
		return nil, "", err
	}
	context.AfterFunc(ctx, func() {
		if err := agent.Disconnect(); err != nil {
			log.Debug("ngrok disconnect", "err", err)
		}
	})
	return ln, ln.URL().String(), nil
}
