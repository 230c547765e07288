package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

// notifier subscribes to signals as signal.Notify does, until stop. main
// wires it; in-process runs (tests, the demo) have none, since the
// process's signals are not theirs to take.
type notifier func(sigs ...os.Signal) (c <-chan os.Signal, stop func())

func notifySignals(sigs ...os.Signal) (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, sigs...)
	return c, func() { signal.Stop(c) }
}

// watchSignals takes, while serve runs, the signals whose default would
// kill the process and drop in-flight requests and the log lines still
// buffered in the sink (main's context already turns SIGINT and SIGTERM
// into a drain):
//
//   - SIGHUP calls hangup and serving goes on.
//   - SIGQUIT: Go's default prints every goroutine's stack and exits at
//     once. Operators send it (Ctrl-\, kill -QUIT) to see where a process
//     is stuck, rarely to kill it, so the dump is kept — written through
//     the logger, to the same collector in the same format — and the
//     server then stops as for SIGTERM: the returned context ends and serve
//     drains within SHUTDOWN_TIMEOUT, which bounds a drain that is itself
//     stuck. A second SIGQUIT dumps again: what the drain waits on.
//
// SIGABRT stays the runtime's: with GOTRACEBACK=crash it is the way to get
// a core dump. stop ends the watch and waits for its goroutine.
func (e env) watchSignals(ctx context.Context, log *slog.Logger, hangup func()) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	if e.notify == nil {
		return ctx, cancel
	}
	sigs, unsubscribe := e.notify(syscall.SIGHUP, syscall.SIGQUIT)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					hangup()
					continue
				}
				log.Warn("SIGQUIT received: goroutine dump; shutting down", "goroutines", goroutineDump())
				cancel()
			}
		}
	}()
	return ctx, func() {
		unsubscribe()
		close(quit)
		<-done
		cancel()
	}
}

// goroutineDump is every goroutine's stack, as an unhandled SIGQUIT
// prints it.
func goroutineDump() string {
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	return b.String()
}
