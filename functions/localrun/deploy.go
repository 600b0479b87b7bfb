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
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/controller"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/spec"
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
	// Roles, when set, edits the roles before they are created (a test removes a
	// statement to show the call that needs it is refused).
	Roles func([]spec.Role) []spec.Role
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
	Cleanup   *cleanup.Handler
	Enrich    *enrichpartition.Handler
	// invokeRole is InvokeEnrichment's SDK configuration: its event source mapping
	// polls the queue with it, as Lambda does with the execution role.
	invokeRole aws.Config

	mu        sync.Mutex
	invoke    *invoke.Handler
	newInvoke func(stacks.Settings) (*invoke.Handler, error)
}

// Invoke is InvokeEnrichment as last deployed.
func (st *Stack) Invoke() *invoke.Handler {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.invoke
}

// Redeploy gives InvokeEnrichment the environment of settings s, as `pulumi up` does
// after a setting changed (maxConcurrentExecutions): the next batch runs the new
// handler, which writes the new maximum to the semaphore item (semaphore.Configure)
// before it admits anything. The other handlers and the definition keep theirs.
func (st *Stack) Redeploy(s stacks.Settings) error {
	inv, err := st.newInvoke(s)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.invoke = inv
	return nil
}

// Definition renders the stack's state machine for the local cloud.
func Definition(names contract.Names, s stacks.Settings) (string, error) {
	sm, err := workflow.Pipeline(names, s, localcloud.Account)
	if err != nil {
		return "", fmt.Errorf("state machine of stack %s: %w", names.Stack, err)
	}
	def, err := sm.JSON()
	if err != nil {
		return "", fmt.Errorf("render state machine: %w", err)
	}
	return string(def), nil
}

// Roles are the stack's roles as the Pulumi program creates them.
func Roles(names contract.Names, s stacks.Settings) ([]spec.Role, error) {
	sm, err := workflow.Pipeline(names, s, localcloud.Account)
	if err != nil {
		return nil, fmt.Errorf("state machine of stack %s: %w", names.Stack, err)
	}
	return manifest.Roles(spec.Stack{Account: localcloud.Account, Names: names, Settings: s}, sm), nil
}

// Deploy creates the stack's resources and roles in a fresh cloud and builds the four
// handlers from the environment the Pulumi program would give them (their Spec), each
// calling AWS with the credentials of its own role.
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
	roles, err := Roles(names, s)
	if err != nil {
		return nil, err
	}
	if o.Roles != nil {
		roles = o.Roles(roles)
	}
	res, err := localcloud.Provision(ctx, cfg, names, s, def, roles...)
	if err != nil {
		return nil, err
	}
	st := spec.Stack{Account: localcloud.Account, Names: names, Settings: s, QueueURL: res.QueueURL}
	m := metrics.New(o.Metrics, contract.MetricsNamespace)
	logFor := func(f spec.Declared) *slog.Logger { return o.Log.With("function", f.FunctionName(names)) }
	configs := map[string]aws.Config{}
	for _, f := range manifest.Functions {
		name := f.FunctionName(names)
		i := slices.IndexFunc(roles, func(r spec.Role) bool { return r.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("no role for function %s", name)
		}
		if configs[name], err = c.RoleConfig(ctx, roles[i]); err != nil {
			return nil, err
		}
	}
	roleCfg := func(f spec.Declared) aws.Config { return configs[f.FunctionName(names)] }

	enrichOpts, err := enrichpartition.Spec.For(st)
	if err != nil {
		return nil, err
	}
	modelCfg := roleCfg(enrichpartition.Spec)
	if o.ModelConfig != nil {
		modelCfg = *o.ModelConfig
	}
	enrichOpts.AcceptEmulated = o.ModelConfig == nil // the emulator answers: its earlier answers are valid cache hits
	enrich, err := enrichpartition.New(roleCfg(enrichpartition.Spec), modelCfg, enrichOpts, logFor(enrichpartition.Spec), m)
	if err != nil {
		return nil, err
	}
	pass := controller.Pass(enrich.Handle)
	if s.AdaptiveConcurrency {
		// The controller runs in the pass, with EnrichPartition's role.
		ctl := controller.New(semaphore.New(dynamodb.NewFromConfig(roleCfg(enrichpartition.Spec)), names.SemaphoreTable), controller.FromStack(s),
			names.Stack, m, logFor(enrichpartition.Spec))
		pass = ctl.Observing(pass)
	}
	c.RegisterFunction(names.EnrichFunction, localcloud.JSONHandler(pass))
	c.SetReservedConcurrency(names.EnrichFunction, s.ReservedConcurrency()) // as the Pulumi program reserves it

	newInvoke := func(s stacks.Settings) (*invoke.Handler, error) {
		invokeOpts, err := invoke.Spec.For(spec.Stack{Account: st.Account, Names: names, Settings: s, QueueURL: res.QueueURL})
		if err != nil {
			return nil, err
		}
		invokeOpts.DeferDelay = o.DeferDelay
		return invoke.New(ctx, roleCfg(invoke.Spec), invokeOpts, logFor(invoke.Spec), m)
	}
	inv, err := newInvoke(s)
	if err != nil {
		return nil, err
	}
	discoverOpts, err := discover.Spec.For(st)
	if err != nil {
		return nil, err
	}
	cleanupOpts, err := cleanup.Spec.For(st)
	if err != nil {
		return nil, err
	}
	cleanupOpts.StuckAfter = o.StuckAfter
	return &Stack{
		Cloud: c, Config: cfg, Names: names, Settings: s, Resources: res, Enrich: enrich, invoke: inv, newInvoke: newInvoke,
		Discover:   discover.New(roleCfg(discover.Spec), discoverOpts, logFor(discover.Spec), m),
		Cleanup:    cleanup.New(roleCfg(cleanup.Spec), cleanupOpts, logFor(cleanup.Spec), m),
		invokeRole: roleCfg(invoke.Spec),
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
		MaxConcurrency: st.Settings.InvokeMaxConcurrency, // as the event source mapping, with the function's current code and environment
		Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return st.Invoke().Handle(ctx, ev)
		},
		Poller: &st.invokeRole,
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
