// Command wxoa is a WeChat Official Account backend: the callback server
// and the access_token central control server in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"wxoa/config"
	"wxoa/internal/banner"
	"wxoa/internal/demo"
	"wxoa/internal/sim"
)

func main() { os.Exit(runMain(os.Args)) }

// runMain is main, returning the exit status: the test binary acting as
// wxoa (proc_test.go) runs it too, so that processes under test take
// signals as the real one does.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, notify: notifySignals}
	if err := e.runArgs(ctx, args); err != nil {
		fmt.Fprintln(os.Stderr, "wxoa:", err)
		return 1
	}
	return 0
}

// env is the process's outside world, passed in so tests can run every
// command in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	notify notifier // nil in-process: see watchSignals
}

// command is one row of the command table: its usage line, a summary, its
// help and what runs it.
type command struct {
	name, args, summary, help string
	run                       func(ctx context.Context, e env, args []string) error
}

// commands is the command table, on one screen.
func commands() []command {
	return []command{
		{"serve", "[--tunnel] [--cpuprofile FILE]", "run the callback server and token API (the default)", serveHelp, serve},
		{"token", "", "print a valid access_token (same store and locks as the server)", tokenHelp, printToken},
		{"menu", "push FILE | get | delete", "manage the custom menu; push validates locally first", menuHelp, menuCommand},
		{"sim", "[--account NAME] [--url URL] [--script FILE] [--plain] [--openid ID] [--to ID]", "WeChat in a terminal: sign, send and decode messages", sim.Help, simCommand},
		{"demo", "", "an offline tour: server, fake WeChat, menu, conversation", demo.Help, demoCommand},
		{"fake", "[--addr HOST:PORT] [--app ID:SECRET]... [--wecom CORP:AGENT:SECRET]... [--write-env PATH]", "run the fake WeChat API (wechattest) for trying token, menu and services offline", fakeHelp, fakeCommand},
		{"health", "", "exit 0 if the local server's /healthz answers 200 (for container health checks)", healthHelp, healthCommand},
		{"version", "", "print the version and VCS revision", "", func(_ context.Context, e env, _ []string) error {
			_, err := fmt.Fprintln(e.stdout, "wxoa", banner.BuildVersion())
			return err
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: wxoa [command] [-h]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\n`wxoa help COMMAND` or `wxoa COMMAND -h` tells more. Configuration comes from the\n"+
		"environment and ./.env (ENV_FILE=PATH for another file, ENV_FILE=none for none).\n")
}

// run runs a command line in-process: tests, the harness and the demo
// call it. It takes no signals.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}.runArgs(ctx, args)
}

func (e env) runArgs(ctx context.Context, args []string) error {
	stdout, stderr := e.stdout, e.stderr
	name, rest := "serve", []string(nil)
	if len(args) > 1 {
		name, rest = args[1], args[2:]
	}
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return nil
		}
		name, rest = rest[0], []string{"-h"}
	case "--version", "-version":
		name = "version"
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.name == name })
	if i < 0 {
		if s := suggest(name, commandNames()); s != "" {
			return fmt.Errorf("unknown command %q; did you mean %q? (wxoa help lists them all)", name, s)
		}
		usage(stderr)
		return fmt.Errorf("unknown command %q", name)
	}
	c := commands()[i]
	// -h anywhere asks for help, before anything reads a file or the
	// network: `menu push --help` must not open a file named --help.
	if c.help != "" && slices.ContainsFunc(rest, isHelpFlag) {
		fmt.Fprintf(stdout, "usage: wxoa %s %s\n\n%s", c.name, c.args, c.help)
		return nil
	}
	err := c.run(ctx, e, rest)
	if errors.Is(err, flag.ErrHelp) { // a flag set printed its own usage
		return nil
	}
	return err
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func simCommand(ctx context.Context, e env, args []string) error {
	return sim.Run(ctx, args, func() (*config.Config, error) { return loadConfig(e) }, sim.Streams{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr})
}

func demoCommand(ctx context.Context, e env, args []string) error {
	return demo.Run(ctx, args, run, e.stdout, e.stderr)
}
