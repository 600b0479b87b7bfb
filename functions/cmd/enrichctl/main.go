// Command enrichctl is the operator and developer CLI of the ai-enrichment pipeline.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/aienrichment/ai-enrichment/functions/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
