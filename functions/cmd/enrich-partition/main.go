// Command enrich-partition is the EnrichPartition Lambda: one job, one pass per call.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/controller"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/lambdaerr"
	"github.com/aienrichment/ai-enrichment/functions/logging"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
)

func main() {
	log := logging.New(os.Stdout)
	ctx := context.Background()
	opts, err := enrichpartition.Spec.FromEnv()
	if err != nil {
		log.Error("bad configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	emf := metrics.New(os.Stdout, contract.MetricsNamespace)
	h, err := enrichpartition.New(cfg, cfg, opts, log, emf)
	if err != nil {
		log.Error("handler", "error", err.Error())
		os.Exit(1)
	}
	pass := controller.Pass(h.Handle)
	ctl, adaptive, err := controller.FromEnv(opts.Controller)
	if err != nil {
		log.Error("bad configuration", "error", err.Error())
		os.Exit(1)
	}
	if adaptive {
		sem := semaphore.New(dynamodb.NewFromConfig(cfg), opts.SemaphoreTable)
		pass = controller.New(sem, ctl, opts.Stack, emf, log).Observing(pass)
	}
	lambda.Start(func(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
		out, err := pass(ctx, in)
		return out, lambdaerr.Wrap(err)
	})
}
