// Command enrichctl is the operator and developer CLI of the ai-enrichment pipeline.
package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/aienrichment/ai-enrichment/functions/cli"
)

// stopSignals end a command the way Ctrl-C does, so `local up` and `demo` stop moto
// (its own process group, which the terminal's signal never reaches) and remove its
// temp dir also when a supervisor sends SIGTERM or the terminal hangs up.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	var got atomic.Value
	go func() {
		got.Store(<-sigs)
		cancel()
	}()
	code := cli.Execute(ctx, os.Args[1:])
	signal.Stop(sigs)
	os.Exit(exitCode(code, got.Load()))
}

// exitCode reports a command that failed because a signal stopped it as the shell
// does, 128 + the signal number (130 for Ctrl-C), not as an ordinary failure.
func exitCode(code int, sig any) int {
	if s, ok := sig.(syscall.Signal); ok && code != cli.ExitOK {
		return 128 + int(s)
	}
	return code
}
