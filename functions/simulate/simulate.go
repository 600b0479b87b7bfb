// Package simulate measures the pipeline's throughput in the local cloud: N jobs go
// through discover → SQS → invoke → state machines → passes while the Bedrock
// emulator answers at a fixed latency under a requests-per-minute quota, and the
// achieved jobs per minute are compared with what the quota and the concurrency allow.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Options describe one simulation run.
type Options struct {
	Settings stacks.Settings
	Policy   Policy
	Jobs     int
	Latency  time.Duration // of every model call
	RPM      int           // the emulator's requests-per-minute quota
	TPM      int           // the emulator's tokens-per-minute quota (0: none)
	// Capacity changes the emulator's quotas during the run (hidden from the stack).
	Capacity []QuotaStep
	Seed     uint64
	Timeout  time.Duration // of the wait for every job (default 10 minutes)
	Log      *slog.Logger
}

// Result is what one run achieved.
type Result struct {
	Policy         Policy        `json:"policy"`
	Jobs           int           `json:"jobs"`
	Concurrency    int           `json:"concurrency"`
	Latency        time.Duration `json:"latency_ns"`
	RPM            int           `json:"rpm"`
	Scale          float64       `json:"time_scale"` // latency / the stack's expected pass latency
	Completed      int           `json:"completed"`
	Wall           time.Duration `json:"wall_ns"` // first publish to the last job done
	JobsPerMinute  float64       `json:"jobs_per_minute"`
	BoundPerMinute float64       `json:"bound_jobs_per_minute"`
	// SlotHold is the mean time an execution without retries held its slot: three
	// model calls plus what the local cloud spends on the states in between.
	SlotHold time.Duration `json:"slot_hold_ns"`
	// LocalBoundPerMinute is Bound with the measured SlotHold in place of 3 × latency:
	// what this machine's local cloud allows at best.
	LocalBoundPerMinute float64 `json:"local_bound_jobs_per_minute"`
	Executions          int     `json:"executions"`
	ExecutionsPerJob    float64 `json:"executions_per_job"`
	Transitions         int     `json:"transitions"`
	TransitionsPerJob   float64 `json:"transitions_per_job"`
	ModelCalls          int     `json:"model_calls"`
	Throttled           int     `json:"throttled"`
	PeakSlots           int     `json:"peak_slots"`
	Capacity
	Throttles Throttles `json:"throttles"`
	// Limits is the enforced limit over the run, sampled every second (changes only).
	Limits []LimitPoint `json:"limits"`
}

// Efficiency is the achieved share of the bound.
func (r Result) Efficiency() float64 { return r.JobsPerMinute / r.BoundPerMinute }

// LocalEfficiency is the achieved share of the local bound.
func (r Result) LocalEfficiency() float64 { return r.JobsPerMinute / r.LocalBoundPerMinute }

// Bound is the most jobs per minute three passes per job can achieve under a quota of
// rpm model calls per minute and concurrency jobs at once, each call taking latency.
func Bound(rpm, concurrency int, latency time.Duration) float64 {
	byConcurrency := float64(concurrency) / (3 * latency.Minutes())
	if rpm <= 0 {
		return byConcurrency
	}
	return min(float64(rpm)/3, byConcurrency)
}

// Run deploys the stack in a fresh local cloud, runs o.Jobs generated postings through
// the pipeline under o.Policy, and measures the run.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Jobs < 1 || o.Latency <= 0 || o.Settings.ExpectedPassLatency <= 0 {
		return Result{}, fmt.Errorf("simulate: jobs (%d), latency (%v) and the stack's expected pass latency must be positive", o.Jobs, o.Latency)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	factor := float64(o.Latency) / float64(o.Settings.ExpectedPassLatency)
	s := localrun.Scale(o.Settings, factor)
	s.BronzeBucket, s.SilverBucket = contract.Project+"-"+s.Stack+"-bronze", contract.Project+"-"+s.Stack+"-silver"
	s.MaxJobsPerPartition = max(s.MaxJobsPerPartition, o.Jobs)
	switch o.Policy {
	case Original:
		s.AdmissionBuffer = o.Jobs // no admission control: every message starts its execution
	case Adaptive, Fixed:
		s.AdaptiveConcurrency = o.Policy == Adaptive
	}
	res := Result{
		Policy: o.Policy, Jobs: o.Jobs, Concurrency: s.MaxConcurrentExecutions, Latency: o.Latency, RPM: o.RPM, Scale: factor,
		BoundPerMinute: Bound(o.RPM, s.MaxConcurrentExecutions, o.Latency),
	}
	cloud, err := localcloud.Start(ctx, localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}})
	if err != nil {
		return res, err
	}
	defer cloud.Close()
	names := contract.NamesFor(s.Stack)
	st, err := localrun.Deploy(ctx, cloud, names, s, localrun.Options{
		Log: o.Log, DeferDelay: localrun.ScaledDeferDelay(factor),
	})
	if err != nil {
		return res, err
	}
	sfnc := sfn.NewFromConfig(st.Config)
	if o.Policy == Original {
		def, err := OriginalDefinition(names, s, factor)
		if err != nil {
			return res, err
		}
		if _, err := sfnc.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
			StateMachineArn: aws.String(st.Resources.StateMachineARN), Definition: aws.String(def),
		}); err != nil {
			return res, fmt.Errorf("deploy the original-policy definition: %w", err)
		}
	}
	cloud.Bedrock().SetFaults(bedrockemu.Faults{Latency: o.Latency, RequestsPerMinute: o.RPM, TokensPerMinute: o.TPM})
	published, err := publish(ctx, st, o.Jobs, o.Seed)
	if err != nil {
		return res, err
	}
	start := time.Now()
	quotas := append([]QuotaStep{{RPM: o.RPM, TPM: o.TPM}}, o.Capacity...)
	stopQuotas := changeQuotas(ctx, cloud.Bedrock(), start, o.Capacity)
	defer stopQuotas()
	stopTrace := traceLimits(ctx, semaphore.New(dynamodb.NewFromConfig(st.Config), names.SemaphoreTable), start, time.Second)
	defer stopTrace()
	stop, err := st.Start(ctx, localrun.Schedule{Discover: 3 * time.Second, Cleanup: 5 * time.Second, Events: 2 * time.Second}, o.Log)
	if err != nil {
		return res, err
	}
	defer stop()
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	p, err := st.Wait(wctx, published, time.Second, nil)
	res.Wall, res.PeakSlots = time.Since(start), p.PeakSlots
	stop()
	stopQuotas()
	res.Limits = stopTrace()
	if err != nil {
		return res, err
	}
	res.Completed = p.ByStatus[contract.StatusCompleted]
	res.JobsPerMinute = float64(published) / res.Wall.Minutes()
	hs, err := histories(ctx, sfnc, st.Resources.StateMachineARN)
	if err != nil {
		return res, err
	}
	var holds []time.Duration
	for _, h := range hs {
		res.Transitions += h.transitions
		if h.hold > 0 && !h.retried {
			holds = append(holds, h.hold)
		}
	}
	res.Executions = len(hs)
	if len(holds) > 0 {
		var sum time.Duration
		for _, d := range holds {
			sum += d
		}
		res.SlotHold = sum / time.Duration(len(holds))
		res.LocalBoundPerMinute = min(Bound(o.RPM, s.MaxConcurrentExecutions, o.Latency), float64(s.MaxConcurrentExecutions)/res.SlotHold.Minutes())
	}
	res.ExecutionsPerJob = float64(res.Executions) / float64(published)
	res.TransitionsPerJob = float64(res.Transitions) / float64(published)
	calls := cloud.Bedrock().Calls()
	for _, c := range calls {
		res.ModelCalls++
		if c.Outcome == string(bedrockemu.Throttle) {
			res.Throttled++
		}
	}
	res.Capacity = capacityUse(calls, start, quotas)
	res.Throttles = throttleCounts(calls, start, quotas)
	for _, h := range hs {
		if h.lostToThrottling {
			res.AttemptsLostToThrottling++
		}
	}
	return res, nil
}

// publish writes o.Jobs generated postings into one complete Silver partition and
// runs discovery once; it returns the number of jobs published.
func publish(ctx context.Context, st *localrun.Stack, jobs int, seed uint64) (int, error) {
	s := st.Settings
	parts := sample.Partitions(time.Now().UTC().Add(-24*time.Hour), 1)
	if _, err := sample.WritePartitions(ctx, s3.NewFromConfig(st.Config), s.SilverBucket, s.SilverPrefix, parts, jobs, seed); err != nil {
		return 0, err
	}
	r, err := st.Discover.Handle(ctx, discover.Event{})
	if err != nil {
		return 0, fmt.Errorf("discover: %w", err)
	}
	if r.Published == 0 {
		return 0, errors.New("discover published no job")
	}
	return r.Published, nil
}

// histories reads the history of every execution of the state machine.
func histories(ctx context.Context, c *sfn.Client, stateMachineARN string) ([]history, error) {
	var out []history
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachineARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		for _, x := range page.Executions {
			h, err := readHistory(ctx, c, aws.ToString(x.ExecutionArn))
			if err != nil {
				return nil, err
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// history is what one execution's event history tells the simulation.
type history struct {
	transitions int
	retried     bool
	hold        time.Duration // from the slot's acquisition to its release; 0 when none
	// lostToThrottling: a pass failed the attempt with the model's throttling error.
	lostToThrottling bool
}

// readHistory counts transitions as Step Functions bills them: one per state entered
// and one per retry (a task scheduled more often than it was entered).
func readHistory(ctx context.Context, c *sfn.Client, arn string) (history, error) {
	var h history
	var taskEntered, scheduled int
	var acquired time.Time
	lastError := ""
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return h, fmt.Errorf("history of %s: %w", arn, err)
		}
		for _, ev := range page.Events {
			if ev.Type == sfntypes.HistoryEventTypeTaskScheduled {
				scheduled++
			}
			if f := ev.TaskFailedEventDetails; f != nil {
				lastError = aws.ToString(f.Error)
			}
			d := ev.StateEnteredEventDetails
			if d == nil {
				continue
			}
			h.transitions++
			if ev.Type == sfntypes.HistoryEventTypeTaskStateEntered {
				taskEntered++
			}
			// The state after a successful acquisition, and the two releases.
			switch aws.ToString(d.Name) {
			case workflow.StateStartAttempt:
				acquired = aws.ToTime(ev.Timestamp)
			case workflow.StateReleaseSlot, workflow.StateReleaseOnFail:
				if !acquired.IsZero() {
					h.hold = aws.ToTime(ev.Timestamp).Sub(acquired)
				}
			case workflow.PassFailed(contract.Pass1), workflow.PassFailed(contract.Pass2), workflow.PassFailed(contract.Pass3):
				h.lostToThrottling = h.lostToThrottling || lastError == contract.ErrNameThrottled
			}
		}
	}
	retries := max(0, scheduled-taskEntered)
	h.transitions += retries
	h.retried = retries > 0
	return h, nil
}
