// Command wxoa is a WeChat Official Account backend: the callback server
// and the access_token central control server in one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wxoa:", err)
		os.Exit(1)
	}
}

// env is the process's outside world, passed in so tests can run every
// command in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `usage: wxoa [command]

commands:
  serve                 run the callback server and token API (the default)
  token                 print a valid access_token (same store and locks as the server)
  menu push FILE        validate FILE and set it as the account's menu
  menu get              print the current menu
  menu delete           delete the menu
  sim [--url URL] [--script FILE] [--plain] [--openid ID] [--account ID]
                        WeChat in a terminal: sign, send and decode messages
  demo                  an offline tour: server, fake WeChat, menu, conversation

Configuration comes from the environment and .env (ENV_FILE to choose another).
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := "serve", []string(nil)
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, e, rest)
	case "token":
		return printToken(ctx, e, rest)
	case "menu":
		return menuCommand(ctx, e, rest)
	case "sim":
		return simulate(ctx, e, rest)
	case "demo":
		return demo(ctx, e, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
