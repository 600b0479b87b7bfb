// Command invoke-enrichment is the InvokeEnrichment Lambda: SQS batch in, Step
// Functions executions out, under admission control.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/logging"
)

func main() {
	slog.SetDefault(logging.New(os.Stdout))
	ctx := context.Background()
	opts, err := invoke.OptionsFromEnv()
	if err != nil {
		slog.Error("bad configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		slog.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := invoke.New(ctx, cfg, opts)
	if err != nil {
		slog.Error("handler", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
