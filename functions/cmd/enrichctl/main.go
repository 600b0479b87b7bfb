// Command enrichctl is the operator and developer CLI of the ai-enrichment pipeline.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aienrichment/ai-enrichment/functions/cli"
)

// stopSignals end a command the way Ctrl-C does, so `local up` and `demo` stop moto
// (its own process group, which the terminal's signal never reaches) and remove its
// temp dir also when a supervisor sends SIGTERM or the terminal hangs up.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := cli.Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
