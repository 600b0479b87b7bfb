package pipeline

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// alarmTopic is where alarms notify: the configured topic, a new topic with an
// e-mail subscription, or nothing ("").
func (b *builder) alarmTopic() (pulumi.StringOutput, error) {
	switch {
	case b.s.AlarmTopicARN != "":
		return pulumi.String(b.s.AlarmTopicARN).ToStringOutput(), nil
	case b.s.AlarmEmail != "":
		topic, err := sns.NewTopic(b.ctx, b.prefix+"alarms", &sns.TopicArgs{
			Name: pulumi.String(b.prefix + "alarms"), Tags: b.tags,
		}, b.parent)
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("alarm topic: %w", err)
		}
		if _, err := sns.NewTopicSubscription(b.ctx, b.prefix+"alarms-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(b.s.AlarmEmail),
		}, b.parent); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("alarm subscription: %w", err)
		}
		return topic.Arn, nil
	}
	return pulumi.String("").ToStringOutput(), nil
}

// Alarm suffixes (the alarm name is {project}-{stack}-{suffix}); docs/operations.md
// has a runbook section per suffix, and each alarm's description links to it.
const (
	// Queues.
	AlarmDLQDepth      = "dlq-depth"
	AlarmDLQAge        = "dlq-oldest-message-age"
	AlarmOldestMessage = "oldest-message-age"
	// EnrichPartition and the state machine.
	AlarmErrorRate   = "enrich-error-rate"
	AlarmLatencyP99  = "enrich-latency-p99"
	AlarmSFNFailures = "execution-failures"
	AlarmThrottles   = "model-throttles"
	// DiscoverPartitions.
	AlarmDiscoverErrors     = "discover-errors"
	AlarmDiscoverNotRunning = "discover-not-running"
	AlarmDiscoveryStalled   = "discovery-stalled"
	AlarmPublishFailures    = "discovery-publish-failures"
	AlarmUnreadableObjects  = "unreadable-silver-objects"
	AlarmCursorLag          = "discovery-cursor-lag"
	// InvokeEnrichment.
	AlarmInvokeErrors   = "invoke-errors"
	AlarmInvokeDuration = "invoke-duration"
	// CleanupLocks and what its sweep reports.
	AlarmCleanupErrors     = "cleanup-errors"
	AlarmCleanupNotRunning = "cleanup-not-running"
	AlarmSemaphoreDrift    = "semaphore-drift"
	AlarmOldestJobAge      = "oldest-job-age"
	AlarmStuckJobs         = "stuck-jobs"
	// Every function.
	AlarmFunctionThrottles = "function-throttles"
)

// How an alarm treats a period without data (CloudWatch TreatMissingData).
const (
	// notBreaching: no datapoint means nothing happened (no invocation, no run, an
	// idle empty queue), which is not a problem in itself.
	notBreaching = "notBreaching"
	// breaching: the datapoint is the proof of life, so its absence is the problem.
	breaching = "breaching"
)

const (
	fiveMinutes = 300
	maxPeriod   = 6 * 3600 // longest period used, so every window stays within a day or two
	// nearTimeout is the share of a function's timeout at which its duration alarms.
	nearTimeout = 0.8
)

func metric(namespace, name, stat string, period int, dims map[string]string) *cloudwatch.MetricAlarmMetricQueryMetricArgs {
	d := pulumi.StringMap{}
	for k, v := range dims {
		d[k] = pulumi.String(v)
	}
	return &cloudwatch.MetricAlarmMetricQueryMetricArgs{
		Namespace: pulumi.String(namespace), MetricName: pulumi.String(name), Dimensions: d,
		Period: pulumi.Int(period), Stat: pulumi.String(stat),
	}
}

func single(id string, m *cloudwatch.MetricAlarmMetricQueryMetricArgs) cloudwatch.MetricAlarmMetricQueryArray {
	return cloudwatch.MetricAlarmMetricQueryArray{cloudwatch.MetricAlarmMetricQueryArgs{
		Id: pulumi.String(id), Metric: m, ReturnData: pulumi.Bool(true)}}
}

func input(id string, m *cloudwatch.MetricAlarmMetricQueryMetricArgs) cloudwatch.MetricAlarmMetricQueryArgs {
	return cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String(id), Metric: m}
}

func expression(id, label, expr string) cloudwatch.MetricAlarmMetricQueryArgs {
	return cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String(id), Label: pulumi.String(label),
		Expression: pulumi.String(expr), ReturnData: pulumi.Bool(true)}
}

// runPeriod sizes an alarm on a scheduled function's metrics: the period is the
// schedule's interval (whole minutes, at most maxPeriod) and runs is how many periods
// span two intervals, so one late run never looks like a missing one.
func runPeriod(interval time.Duration) (period, runs int) {
	sec := int(math.Ceil(interval.Minutes())) * 60
	period = min(max(sec, 60), maxPeriod)
	return period, max(2, int(math.Ceil(float64(2*sec)/float64(period))))
}

// alarm is one CloudWatch alarm: it fires when each of the last evaluations
// periods breaches the threshold.
type alarm struct {
	suffix, description string
	threshold           float64
	evaluations         int
	atLeast             bool   // >= instead of >
	below               bool   // < instead of >
	missing             string // notBreaching or breaching, chosen per alarm
	queries             cloudwatch.MetricAlarmMetricQueryArray
}

// alarmList lists every alarm of the stack; thresholds come from the stack settings.
func (b *builder) alarmList() []alarm {
	var all []alarm
	for _, part := range [][]alarm{b.queueAlarms(), b.enrichAlarms(), b.discoverAlarms(), b.invokeAlarms(),
		b.cleanupAlarms(), {b.throttleAlarm()}} {
		all = append(all, part...)
	}
	return all
}

func (b *builder) lambda(fn, name, stat string, period int) *cloudwatch.MetricAlarmMetricQueryMetricArgs {
	return metric("AWS/Lambda", name, stat, period, map[string]string{"FunctionName": fn})
}

// custom is one of our EMF metrics that carries the Stack dimension only.
func (b *builder) custom(name, stat string, period int) *cloudwatch.MetricAlarmMetricQueryMetricArgs {
	return metric(contract.MetricsNamespace, name, stat, period, map[string]string{"Stack": b.s.Stack})
}

func (b *builder) queueAlarms() []alarm {
	s, n := b.s, b.names
	sqs := func(queue, name string) *cloudwatch.MetricAlarmMetricQueryMetricArgs {
		// Gauges: Maximum, not Sum, or five one-minute points count five times.
		return metric("AWS/SQS", name, "Maximum", fiveMinutes, map[string]string{"QueueName": queue})
	}
	// SQS reports a queue's metrics while it holds messages or is used; an empty idle
	// DLQ sends none, which is the healthy case: missing data is not breaching.
	return []alarm{
		{suffix: AlarmDLQDepth, description: "Messages in the dead-letter queue: jobs the invoke function could not turn into executions. Nothing retries them; they expire after 14 days.",
			threshold: float64(s.AlarmDLQMessages), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("dlq", sqs(n.DeadLetterQueue, "ApproximateNumberOfMessagesVisible"))},
		{suffix: AlarmDLQAge, description: "A dead-letter message has waited long: redrive it before the queue's retention deletes it.",
			threshold: s.AlarmDLQMessageAge.Seconds(), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("age", sqs(n.DeadLetterQueue, "ApproximateAgeOfOldestMessage"))},
		{suffix: AlarmOldestMessage, description: "The oldest job waited too long in the queue: admission is stuck or far behind.",
			threshold: s.AlarmOldestMessageAge.Seconds(), evaluations: 3, missing: notBreaching,
			queries: single("age", sqs(n.Queue, "ApproximateAgeOfOldestMessage"))},
	}
}

func (b *builder) enrichAlarms() []alarm {
	s, n := b.s, b.names
	fn := n.EnrichFunction
	sm := map[string]string{"StateMachineArn": b.acct.StateMachineARN(n.StateMachine)}
	// No invocation, no execution, no throttle: missing data is not breaching.
	return []alarm{
		{suffix: AlarmErrorRate, description: "EnrichPartition errors as a percentage of invocations (failed passes fail the task, so they count).",
			threshold: s.AlarmErrorRatePercent, evaluations: 3, missing: notBreaching, queries: cloudwatch.MetricAlarmMetricQueryArray{
				input("errors", b.lambda(fn, "Errors", "Sum", fiveMinutes)),
				input("invocations", b.lambda(fn, "Invocations", "Sum", fiveMinutes)),
				expression("rate", "error rate %", "IF(invocations > 0, 100 * errors / invocations, 0)"),
			}},
		{suffix: AlarmLatencyP99, description: "p99 duration of EnrichPartition approaches the pass timeout.",
			threshold: float64(s.AlarmP99Latency.Milliseconds()), evaluations: 3, missing: notBreaching,
			queries: single("p99", b.lambda(fn, "Duration", "p99", fiveMinutes))},
		{suffix: AlarmSFNFailures, description: "Executions that failed, timed out or were aborted in 5 minutes.",
			threshold: float64(s.AlarmSFNFailures), evaluations: 1, missing: notBreaching, queries: cloudwatch.MetricAlarmMetricQueryArray{
				input("failed", metric("AWS/States", "ExecutionsFailed", "Sum", fiveMinutes, sm)),
				input("timedout", metric("AWS/States", "ExecutionsTimedOut", "Sum", fiveMinutes, sm)),
				input("aborted", metric("AWS/States", "ExecutionsAborted", "Sum", fiveMinutes, sm)),
				// SUM of the array, not a + b + c: a metric without a datapoint in a
				// period would blank the whole sum.
				expression("ended", "ended badly", "SUM([failed, timedout, aborted])"),
			}},
		{suffix: AlarmThrottles, description: "Bedrock throttled model calls (our EMF metric, summed over this stack's passes): the quota is too small for the concurrency.",
			threshold: float64(s.AlarmThrottles), evaluations: 1, missing: notBreaching, queries: cloudwatch.MetricAlarmMetricQueryArray{
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("throttles"), Period: pulumi.Int(fiveMinutes), ReturnData: pulumi.Bool(true),
					Expression: pulumi.String(fmt.Sprintf(`SELECT SUM(%s) FROM %s`, contract.MetricModelThrottles, insightsFrom(s.Stack)))},
			}},
	}
}

func (b *builder) discoverAlarms() []alarm {
	s, fn := b.s, b.names.DiscoverFunction
	period, runs := runPeriod(s.DiscoverInterval())
	// Silver "has work" when the cursor lags by more than two runs: at least one
	// complete partition is waiting that a run should have taken.
	behind := 2 * s.DiscoverInterval().Seconds()
	return []alarm{
		// One failed run already costs a discovery interval: alarm on the first.
		// No run, no error: not breaching (discover-not-running sees no runs).
		{suffix: AlarmDiscoverErrors, description: "DiscoverPartitions failed (error or timeout): this run published nothing new.",
			threshold: float64(s.AlarmFunctionErrors), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("errors", b.lambda(fn, "Errors", "Sum", period))},
		// Lambda reports Invocations only when there are some, so a period without
		// data is a period without a run: breaching, the point of this alarm.
		{suffix: AlarmDiscoverNotRunning, description: "DiscoverPartitions was not invoked for two schedule intervals: its schedule is disabled, failing or deleted, and no job is published.",
			threshold: 1, evaluations: runs, below: true, missing: breaching,
			queries: single("runs", b.lambda(fn, "Invocations", "Sum", period))},
		// Missing: a run that reported nothing; discover-not-running and
		// discover-errors see why, so not breaching here.
		{suffix: AlarmDiscoveryStalled, description: "Discovery runs publish no job while its cursor lags Silver by more than two runs: work is waiting and nothing takes it.",
			threshold: 1, evaluations: 3, atLeast: true, missing: notBreaching, queries: cloudwatch.MetricAlarmMetricQueryArray{
				input("published", b.custom(contract.MetricJobsPublished, "Sum", period)),
				input("lag", b.custom(contract.MetricCursorLag, "Maximum", period)),
				expression("stalled", "published nothing while behind",
					fmt.Sprintf("IF(FILL(published, 0) == 0 AND lag > %.0f, 1, 0)", behind)),
			}},
		{suffix: AlarmPublishFailures, description: "Discovery marked jobs QUEUED but could not publish their messages.",
			threshold: float64(s.AlarmPublishFailures), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("failures", b.custom(contract.MetricPublishFailures, "Sum", period))},
		{suffix: AlarmUnreadableObjects, description: "Discovery skipped Silver objects it could not read: their postings are not enriched.",
			threshold: float64(s.AlarmUnreadableObjects), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("unreadable", b.custom(contract.MetricUnreadableObjects, "Sum", period))},
		{suffix: AlarmCursorLag, description: "The discovery cursor is far behind the newest Silver partition, on two runs in a row.",
			threshold: s.AlarmCursorLag.Seconds(), evaluations: 2, missing: notBreaching,
			queries: single("lag", b.custom(contract.MetricCursorLag, "Maximum", period))},
	}
}

func (b *builder) invokeAlarms() []alarm {
	s, fn := b.s, b.names.InvokeFunction
	// SQS redelivers a failed batch, so one error heals itself; three 5-minute
	// periods in a row do not. No invocation, no error: not breaching.
	return []alarm{
		{suffix: AlarmInvokeErrors, description: "InvokeEnrichment fails (errors or timeouts) for 15 minutes: no execution starts and messages head for the DLQ.",
			threshold: float64(s.AlarmFunctionErrors), evaluations: 3, atLeast: true, missing: notBreaching,
			queries: single("errors", b.lambda(fn, "Errors", "Sum", fiveMinutes))},
		{suffix: AlarmInvokeDuration, description: "InvokeEnrichment runs close to its timeout for 15 minutes: the next calls time out and redeliver their batch.",
			threshold: nearTimeout * float64(s.InvokeTimeout.Milliseconds()), evaluations: 3, missing: notBreaching,
			queries: single("duration", b.lambda(fn, "Duration", "Maximum", fiveMinutes))},
	}
}

func (b *builder) cleanupAlarms() []alarm {
	s, fn := b.s, b.names.CleanupFunction
	period, runs := runPeriod(s.CleanupInterval())
	// The sweep's own metrics (drift, job age, stuck) say nothing when no sweep ran;
	// cleanup-not-running and cleanup-errors cover that, so they are not breaching.
	return []alarm{
		{suffix: AlarmCleanupErrors, description: "CleanupLocks failed on two sweeps in a row: orphan slots, stuck jobs and drift are not repaired.",
			threshold: float64(s.AlarmFunctionErrors), evaluations: 2, atLeast: true, missing: notBreaching,
			queries: single("errors", b.lambda(fn, "Errors", "Sum", period))},
		{suffix: AlarmCleanupNotRunning, description: "CleanupLocks was not invoked for two schedule intervals: nothing sweeps slots or reaps stuck jobs.",
			threshold: 1, evaluations: runs, below: true, missing: breaching,
			queries: single("runs", b.lambda(fn, "Invocations", "Sum", period))},
		{suffix: AlarmSemaphoreDrift, description: "The semaphore count disagreed with its holders on two sweeps in a row (cleanup repairs it; repeated drift is a bug).",
			threshold: float64(s.AlarmSemaphoreDrift), evaluations: 2, atLeast: true, missing: notBreaching,
			queries: single("drift", b.custom(contract.MetricSemaphoreDrift, "Maximum", period))},
		{suffix: AlarmOldestJobAge, description: "The oldest unfinished job (QUEUED, PENDING or IN_PROGRESS) is older than the bound on two sweeps in a row.",
			threshold: s.AlarmOldestJobAge.Seconds(), evaluations: 2, missing: notBreaching,
			queries: single("age", b.custom(contract.MetricOldestJobAge, "Maximum", period))},
		{suffix: AlarmStuckJobs, description: "A sweep found unfinished jobs with no live message or execution: something lost them (the reaper requeues them).",
			threshold: float64(s.AlarmStuckJobs), evaluations: 1, atLeast: true, missing: notBreaching,
			queries: single("stuck", b.custom(contract.MetricStuckJobs, "Maximum", period))},
	}
}

// throttleAlarm watches Lambda throttling of all four functions: the three without
// reserved concurrency share the account's unreserved pool, EnrichPartition only its
// reservation (throttled there, the semaphore let more passes run than it reserves).
func (b *builder) throttleAlarm() alarm {
	n := b.names
	queries := cloudwatch.MetricAlarmMetricQueryArray{}
	var ids []string
	for i, fn := range []string{n.DiscoverFunction, n.InvokeFunction, n.EnrichFunction, n.CleanupFunction} {
		id := fmt.Sprintf("t%d", i+1)
		ids = append(ids, id)
		queries = append(queries, input(id, b.lambda(fn, "Throttles", "Sum", fiveMinutes)))
	}
	queries = append(queries, expression("throttles", "throttled invocations", "SUM(["+strings.Join(ids, ", ")+"])"))
	return alarm{suffix: AlarmFunctionThrottles, description: "Lambda throttled the stack's functions for 15 minutes: the account's concurrency is exhausted.",
		threshold: 1, evaluations: 3, atLeast: true, missing: notBreaching, queries: queries}
}

// alarms creates the alarms.
func (b *builder) alarms(topic pulumi.StringOutput) error {
	actions := pulumi.Array{}
	if b.s.AlarmTopicARN != "" || b.s.AlarmEmail != "" {
		actions = pulumi.Array{topic}
	}
	for _, a := range b.alarmList() {
		op := "GreaterThanThreshold"
		switch {
		case a.atLeast:
			op = "GreaterThanOrEqualToThreshold"
		case a.below:
			op = "LessThanThreshold"
		}
		name := b.prefix + a.suffix
		if _, err := cloudwatch.NewMetricAlarm(b.ctx, name, &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(name),
			AlarmDescription:   pulumi.String(a.description + " See docs/operations.md#" + a.suffix),
			ComparisonOperator: pulumi.String(op),
			Threshold:          pulumi.Float64(a.threshold),
			EvaluationPeriods:  pulumi.Int(a.evaluations),
			DatapointsToAlarm:  pulumi.Int(a.evaluations),
			MetricQueries:      a.queries,
			TreatMissingData:   pulumi.String(a.missing),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               b.tags,
		}, b.parent); err != nil {
			return fmt.Errorf("alarm %s: %w", name, err)
		}
	}
	return nil
}
