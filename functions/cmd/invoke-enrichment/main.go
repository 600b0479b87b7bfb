// Command invoke-enrichment is the InvokeEnrichment Lambda: SQS batch in, Step
// Functions executions out, under admission control.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/logging"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
)

func main() {
	log := logging.New(os.Stdout)
	ctx := context.Background()
	opts, err := invoke.Spec.FromEnv()
	if err != nil {
		log.Error("bad configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := invoke.New(ctx, cfg, opts, log, metrics.New(os.Stdout, contract.MetricsNamespace))
	if err != nil {
		log.Error("handler", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
