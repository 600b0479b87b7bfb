// Command cleanup-locks is the CleanupLocks Lambda: releases slots and claims left by
// ended executions and repairs the semaphore count.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/logging"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
)

func main() {
	log := logging.New(os.Stdout)
	opts, err := cleanup.Spec.FromEnv()
	if err != nil {
		log.Error("bad configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(cleanup.New(cfg, opts, log, metrics.New(os.Stdout, contract.MetricsNamespace)).Handle)
}
