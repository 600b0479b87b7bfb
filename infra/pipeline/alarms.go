package pipeline

import (
	"fmt"

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
// says what each means and what to do.
const (
	AlarmDLQDepth       = "dlq-depth"
	AlarmErrorRate      = "enrich-error-rate"
	AlarmLatencyP99     = "enrich-latency-p99"
	AlarmSFNFailures    = "execution-failures"
	AlarmThrottles      = "model-throttles"
	AlarmSemaphoreDrift = "semaphore-drift"
	AlarmOldestMessage  = "oldest-message-age"
)

const fiveMinutes = 300

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

// alarms creates the alarms; thresholds come from the stack settings.
func (b *builder) alarms(topic pulumi.StringOutput) error {
	s, n := b.s, b.names
	fn := map[string]string{"FunctionName": n.EnrichFunction}
	sm := map[string]string{"StateMachineArn": b.acct.StateMachineARN(n.StateMachine)}
	single := func(id string, m *cloudwatch.MetricAlarmMetricQueryMetricArgs) cloudwatch.MetricAlarmMetricQueryArray {
		return cloudwatch.MetricAlarmMetricQueryArray{cloudwatch.MetricAlarmMetricQueryArgs{
			Id: pulumi.String(id), Metric: m, ReturnData: pulumi.Bool(true)}}
	}
	type alarm struct {
		suffix, description string
		threshold           float64
		evaluations         int
		atLeast             bool // >= instead of >
		queries             cloudwatch.MetricAlarmMetricQueryArray
	}
	alarms := []alarm{
		{AlarmDLQDepth, "Jobs in the dead-letter queue: messages the invoke function could not turn into executions.",
			float64(s.AlarmDLQMessages), 1, false,
			// A gauge: Maximum, not Sum, or five one-minute points count five times.
			single("dlq", metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", fiveMinutes,
				map[string]string{"QueueName": n.DeadLetterQueue}))},
		{AlarmErrorRate, "EnrichPartition errors as a percentage of invocations (failed passes fail the task, so they count).",
			s.AlarmErrorRatePercent, 3, false, cloudwatch.MetricAlarmMetricQueryArray{
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("errors"), Metric: metric("AWS/Lambda", "Errors", "Sum", fiveMinutes, fn)},
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("invocations"), Metric: metric("AWS/Lambda", "Invocations", "Sum", fiveMinutes, fn)},
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("rate"), Label: pulumi.String("error rate %"),
					Expression: pulumi.String("IF(invocations > 0, 100 * errors / invocations, 0)"), ReturnData: pulumi.Bool(true)},
			}},
		{AlarmLatencyP99, "p99 duration of EnrichPartition approaches the pass timeout.",
			float64(s.AlarmP99Latency.Milliseconds()), 3, false,
			single("p99", metric("AWS/Lambda", "Duration", "p99", fiveMinutes, fn))},
		{AlarmSFNFailures, "Executions that failed, timed out or were aborted in 5 minutes.",
			float64(s.AlarmSFNFailures), 1, false, cloudwatch.MetricAlarmMetricQueryArray{
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("failed"), Metric: metric("AWS/States", "ExecutionsFailed", "Sum", fiveMinutes, sm)},
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("timedout"), Metric: metric("AWS/States", "ExecutionsTimedOut", "Sum", fiveMinutes, sm)},
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("aborted"), Metric: metric("AWS/States", "ExecutionsAborted", "Sum", fiveMinutes, sm)},
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("ended"), Label: pulumi.String("ended badly"),
					Expression: pulumi.String("failed + timedout + aborted"), ReturnData: pulumi.Bool(true)},
			}},
		{AlarmThrottles, "Bedrock throttled model calls (our EMF metric, summed over this stack's passes): the quota is too small for the concurrency.",
			float64(s.AlarmThrottles), 1, false, cloudwatch.MetricAlarmMetricQueryArray{
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("throttles"), Period: pulumi.Int(fiveMinutes), ReturnData: pulumi.Bool(true),
					Expression: pulumi.String(fmt.Sprintf(`SELECT SUM(%s) FROM %s`, contract.MetricModelThrottles, insightsFrom(s.Stack)))},
			}},
		{AlarmSemaphoreDrift, "The semaphore count disagreed with its holders on two sweeps in a row (cleanup repairs it; repeated drift is a bug).",
			float64(s.AlarmSemaphoreDrift), 2, true,
			single("drift", metric(contract.MetricsNamespace, contract.MetricSemaphoreDrift, "Maximum", 3*fiveMinutes,
				map[string]string{"Stack": s.Stack}))},
		{AlarmOldestMessage, "The oldest job waited too long in the queue: admission is stuck or far behind.",
			s.AlarmOldestMessageAge.Seconds(), 3, false,
			single("age", metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", fiveMinutes,
				map[string]string{"QueueName": n.Queue}))},
	}

	actions := pulumi.Array{}
	if s.AlarmTopicARN != "" || s.AlarmEmail != "" {
		actions = pulumi.Array{topic}
	}
	for _, a := range alarms {
		op := "GreaterThanThreshold"
		if a.atLeast {
			op = "GreaterThanOrEqualToThreshold"
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
			TreatMissingData:   pulumi.String("notBreaching"),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               b.tags,
		}, b.parent); err != nil {
			return fmt.Errorf("alarm %s: %w", name, err)
		}
	}
	return nil
}
