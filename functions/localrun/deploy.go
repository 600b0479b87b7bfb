// Package localrun deploys and runs the whole pipeline in the local cloud: the same
// state machine definition, handlers and stack settings as in AWS, with the event
// source mapping and the schedules driven in-process. `enrichctl demo`, `enrichctl
// local up`, the end-to-end and chaos tests and the throughput simulation use it.
package localrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/controller"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Options tune a local deployment.
type Options struct {
	// ModelConfig is the SDK configuration of Bedrock calls; nil sends them to the
	// cloud's emulator.
	ModelConfig *aws.Config
	// Log receives the handlers' JSON logs and Metrics their EMF lines (default: discarded).
	Log     *slog.Logger
	Metrics io.Writer
	// DeferDelay is how long InvokeEnrichment keeps a deferred message invisible.
	DeferDelay time.Duration
	// StuckAfter is the age from which the cleanup sweep's reaper checks a
	// non-terminal job (default: the stack's lock timeout).
	StuckAfter time.Duration
}

// Stack is a pipeline deployed in a local cloud.
type Stack struct {
	Cloud     *localcloud.Cloud
	Config    aws.Config
	Names     contract.Names
	Settings  stacks.Settings
	Resources localcloud.Resources
	Discover  *discover.Handler
	Invoke    *invoke.Handler
	Cleanup   *cleanup.Handler
	Enrich    *enrichpartition.Handler
}

// EnrichFunctionARN is the local ARN of the EnrichPartition function.
func EnrichFunctionARN(names contract.Names) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", localcloud.Region, localcloud.AccountID, names.EnrichFunction)
}

// Definition renders the stack's state machine for the local cloud.
func Definition(names contract.Names, s stacks.Settings) (string, error) {
	sm, err := workflow.Pipeline(names, s, workflow.Env{
		Region: localcloud.Region, AccountID: localcloud.AccountID, EnrichFunctionARN: EnrichFunctionARN(names),
	})
	if err != nil {
		return "", fmt.Errorf("state machine of stack %s: %w", names.Stack, err)
	}
	def, err := sm.JSON()
	if err != nil {
		return "", fmt.Errorf("render state machine: %w", err)
	}
	return string(def), nil
}

// Deploy creates the stack's resources in a fresh cloud and builds the four handlers
// with the settings the Pulumi program would put in their environment.
func Deploy(ctx context.Context, c *localcloud.Cloud, names contract.Names, s stacks.Settings, o Options) (*Stack, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if o.Metrics == nil {
		o.Metrics = io.Discard
	}
	if o.DeferDelay == 0 {
		o.DeferDelay = invoke.DefaultDeferDelay
	}
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	def, err := Definition(names, s)
	if err != nil {
		return nil, err
	}
	res, err := localcloud.Provision(ctx, cfg, names, s, def)
	if err != nil {
		return nil, err
	}
	modelCfg := cfg
	if o.ModelConfig != nil {
		modelCfg = *o.ModelConfig
	}
	enrich, err := enrichpartition.New(cfg, modelCfg, enrichpartition.Options{
		Stack:            names.Stack,
		StatusTable:      names.StatusTable,
		BronzeBucket:     s.BronzeBucket,
		Models:           map[contract.Pass]string{contract.Pass1: s.ModelPass1, contract.Pass2: s.ModelPass2, contract.Pass3: s.ModelPass3},
		ServiceTier:      s.ServiceTier,
		ReasoningEfforts: map[contract.Pass]string{contract.Pass1: s.ReasoningEffortPass1, contract.Pass2: s.ReasoningEffortPass2, contract.Pass3: s.ReasoningEffortPass3},
		BreakerFailures:  s.BreakerFailures,
		BreakerCooldown:  s.BreakerCooldown,
		ModelReadTimeout: s.PassTimeout - 15*time.Second,
		AcceptEmulated:   o.ModelConfig == nil, // the emulator answers: its earlier answers are valid cache hits
	}, o.Log.With("function", names.EnrichFunction), metrics.New(o.Metrics, contract.MetricsNamespace))
	if err != nil {
		return nil, err
	}
	pass := controller.Pass(enrich.Handle)
	if s.AdaptiveConcurrency {
		ctl := controller.New(semaphore.New(dynamodb.NewFromConfig(cfg), names.SemaphoreTable), controller.FromStack(s),
			names.Stack, metrics.New(o.Metrics, contract.MetricsNamespace), o.Log.With("function", names.EnrichFunction))
		pass = ctl.Observing(pass)
	}
	c.RegisterFunction(names.EnrichFunction, localcloud.JSONHandler(pass))
	c.SetReservedConcurrency(names.EnrichFunction, s.ReservedConcurrency()) // as the Pulumi program reserves it
	inv, err := invoke.New(ctx, cfg, invoke.Options{
		StateMachineARN: res.StateMachineARN, QueueURL: res.QueueURL, SemaphoreTable: names.SemaphoreTable,
		StatusTable: names.StatusTable, MessageGroups: s.MessageGroups,
		MaxConcurrent: s.MaxConcurrentExecutions, AdmissionBuffer: s.AdmissionBuffer, DeferDelay: o.DeferDelay,
		Stack: names.Stack, Metrics: o.Metrics,
	})
	if err != nil {
		return nil, err
	}
	return &Stack{
		Cloud: c, Config: cfg, Names: names, Settings: s, Resources: res, Enrich: enrich, Invoke: inv,
		Discover: discover.New(cfg, discover.Options{
			SilverBucket: s.SilverBucket, SilverPrefix: s.SilverPrefix, BronzeBucket: s.BronzeBucket,
			StatusTable: names.StatusTable, QueueURL: res.QueueURL, MaxPartitions: s.MaxPartitionsPerRun,
			MaxJobs: s.MaxJobsPerPartition, MaxAttempts: s.MaxAttempts, MessageGroups: s.MessageGroups, MaxConcurrent: s.MaxConcurrentExecutions,
			Settle: discover.DefaultSettle, CursorKey: contract.DefaultCursorKeyName, Stack: names.Stack, Metrics: o.Metrics,
		}, o.Log.With("function", names.DiscoverFunction)),
		Cleanup: cleanup.New(cfg, cleanup.Options{
			StateMachineARN: res.StateMachineARN, SemaphoreTable: names.SemaphoreTable, StatusTable: names.StatusTable,
			LockTimeout: s.LockTimeout, Stack: names.Stack, Namespace: contract.MetricsNamespace, Metrics: o.Metrics,
			QueueURL: res.QueueURL, MessageGroups: s.MessageGroups, MaxAttempts: s.MaxAttempts, StuckAfter: o.StuckAfter,
		}),
	}, nil
}

// Schedule is how often the local runtime fires the two EventBridge schedules.
type Schedule struct {
	Discover time.Duration
	Cleanup  time.Duration
	// Events is how often ended executions are looked up and their status-change
	// events delivered to CleanupLocks (0: never; see StatusEvents).
	Events time.Duration
	// Delivery makes those events late, duplicated, reordered or lost as AWS may
	// (zero: each delivered once).
	Delivery Delivery
}

// Start runs the event source mapping (queue → InvokeEnrichment) and the schedules
// until the returned stop function is called. Errors of scheduled runs are logged, as
// EventBridge would leave them in the function's logs.
func (st *Stack) Start(ctx context.Context, sch Schedule, log *slog.Logger) (stop func(), err error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(ctx)
	mapping, err := st.Cloud.StartSQSMapping(ctx, localcloud.MappingConfig{
		QueueURL: st.Resources.QueueURL, BatchSize: st.Settings.SQSBatchSize,
		MaxConcurrency: 2, Handler: st.Invoke.Handle,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	var wg sync.WaitGroup
	every := func(d time.Duration, name string, fn func(context.Context) error) {
		if d <= 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := fn(ctx); err != nil && ctx.Err() == nil {
						log.Warn("scheduled run failed", "schedule", name, "error", err.Error())
					}
				}
			}
		}()
	}
	every(sch.Discover, "discover", func(ctx context.Context) error {
		_, err := st.Discover.Handle(ctx, discover.Event{})
		return err
	})
	every(sch.Cleanup, "cleanup", func(ctx context.Context) error {
		_, err := st.Cleanup.Sweep(ctx)
		return err
	})
	events := st.NewStatusEventsWith(sch.Delivery)
	every(sch.Events, "status-change events", func(ctx context.Context) error {
		_, err := events.Poll(ctx)
		return err
	})
	return func() {
		cancel()
		mapping.Stop()
		wg.Wait()
	}, nil
}
