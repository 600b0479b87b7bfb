package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// dashboardPeriod is the period of every dashboard graph, in seconds.
const dashboardPeriod = 60

// widget is one 12×6 metric graph of the dashboard.
type widget struct {
	title   string
	metrics [][]any
	stat    string
	// lines are horizontal lines at limits: alarm thresholds, the configured maximum.
	lines []line
}

type line struct {
	label string
	value float64
}

// insightsFrom is the FROM clause of a Metrics Insights query over this stack's
// custom metrics (every metric we emit carries a Stack dimension). CloudWatch runs
// one Metrics Insights query per GetMetricData call, so a widget holds at most one.
func insightsFrom(stack string) string {
	return fmt.Sprintf("%q WHERE Stack = '%s'", contract.MetricsNamespace, stack)
}

// insights is a Metrics Insights query: it sums our EMF metrics over every
// dimension the handlers emit.
func insights(id, label, query string) []any {
	return []any{map[string]any{"id": id, "label": label, "expression": query}}
}

// mathExpr is a metric math expression over the ids of other entries of the widget.
func mathExpr(id, label, expr string, opts map[string]any) []any {
	o := map[string]any{"id": id, "label": label, "expression": expr}
	for k, v := range opts {
		o[k] = v
	}
	return []any{o}
}

// own is one of our metrics that carries the Stack dimension only, with its
// rendering options (label, stat, id, visible, yAxis).
func (b *builder) own(name string, opts map[string]any) []any {
	return []any{contract.MetricsNamespace, name, "Stack", b.s.Stack, opts}
}

func (b *builder) widgets() []widget {
	s, n, ns := b.s, b.names, insightsFrom(b.s.Stack)
	fn := []any{"FunctionName", n.EnrichFunction}
	sm := []any{"StateMachineArn", b.acct.StateMachineARN(n.StateMachine)}
	lambda := func(metric, function, label string) []any {
		return []any{"AWS/Lambda", metric, "FunctionName", function, map[string]any{"label": label}}
	}
	return []widget{
		{title: "EnrichPartition - Invocations & Errors", stat: "Sum", metrics: [][]any{
			append([]any{"AWS/Lambda", "Invocations"}, fn...), append([]any{"AWS/Lambda", "Errors"}, fn...),
			append([]any{"AWS/Lambda", "Throttles"}, fn...)}},
		{title: "EnrichPartition - Duration (P50, P99)", stat: "p50", metrics: [][]any{
			append([]any{"AWS/Lambda", "Duration"}, fn...),
			append(append([]any{"AWS/Lambda", "Duration"}, fn...), map[string]any{"stat": "p99"})}},
		{title: "Step Function Executions", stat: "Sum", metrics: [][]any{
			append([]any{"AWS/States", "ExecutionsStarted"}, sm...), append([]any{"AWS/States", "ExecutionsSucceeded"}, sm...),
			append([]any{"AWS/States", "ExecutionsFailed"}, sm...), append([]any{"AWS/States", "ExecutionsTimedOut"}, sm...)}},
		{title: "SQS Queue Metrics", stat: "Maximum", metrics: [][]any{
			{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", n.Queue},
			{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", n.Queue, map[string]any{"yAxis": "right"}},
			{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", n.DeadLetterQueue, map[string]any{"label": "DLQ Messages"}}}},
		{title: "Lock Contention (Semaphore)", stat: "Sum", metrics: [][]any{
			{"AWS/DynamoDB", "ConditionalCheckFailedRequests", "TableName", n.SemaphoreTable, map[string]any{"label": "Lock Acquisition Retries"}},
			{"AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", n.SemaphoreTable, "Operation", "UpdateItem",
				map[string]any{"stat": "Average", "yAxis": "right"}}}},
		{title: "Concurrency: slots in use, effective limit, maximum", stat: "Maximum",
			lines: []line{{"configured maximum", float64(s.MaxConcurrentExecutions)}}, metrics: [][]any{
				insights("slots", "slots in use", "SELECT MAX("+contract.MetricSlotsInUse+") FROM "+ns),
				b.own(contract.MetricEffectiveLimit, map[string]any{"label": "effective limit", "stat": "Minimum"}),
				b.own(contract.MetricSemaphoreDrift, map[string]any{"label": "semaphore drift"})}},
		{title: "Model throttles and throttled share", stat: "Sum", metrics: [][]any{
			insights("throttles", "throttled calls", "SELECT SUM("+contract.MetricModelThrottles+") FROM "+ns),
			// A search, not a metric: it finds ModelCalls under whatever dimensions
			// the pass emits beside Stack, and leaves the widget's one Metrics
			// Insights query to the throttles.
			mathExpr("calls", "model calls", fmt.Sprintf(`SUM(SEARCH('MetricName="%s" Stack="%s"', 'Sum', %d))`,
				contract.MetricModelCalls, s.Stack, dashboardPeriod), nil),
			mathExpr("share", "throttled share %", "IF(calls > 0, 100 * throttles / calls, 0)", map[string]any{"yAxis": "right"})}},
		{title: "Model input tokens", stat: "Sum", metrics: [][]any{
			insights("input", "input tokens", "SELECT SUM(InputTokens) FROM "+ns)}},
		{title: "Model output tokens", stat: "Sum", metrics: [][]any{
			insights("output", "output tokens", "SELECT SUM(OutputTokens) FROM "+ns)}},
		{title: "Model cost (USD)", stat: "Sum", metrics: [][]any{
			insights("cost", "cost USD", "SELECT SUM(CostUSD) FROM "+ns)}},
		{title: "Cache hit rate (0-1)", stat: "Average", metrics: [][]any{
			insights("hits", "cache hit rate", "SELECT AVG(CacheHit) FROM "+ns)}},
		{title: "Passes by parse status", stat: "Sum", metrics: [][]any{
			insights("parse", "", "SELECT COUNT(CacheHit) FROM "+ns+" GROUP BY ParseStatus")}},
		{title: "Errors of the other functions", stat: "Sum", metrics: [][]any{
			lambda("Errors", n.DiscoverFunction, "DiscoverPartitions"),
			lambda("Errors", n.InvokeFunction, "InvokeEnrichment"),
			lambda("Errors", n.CleanupFunction, "CleanupLocks")}},
		{title: "Lambda throttles by function", stat: "Sum", metrics: [][]any{
			lambda("Throttles", n.DiscoverFunction, "DiscoverPartitions"),
			lambda("Throttles", n.InvokeFunction, "InvokeEnrichment"),
			lambda("Throttles", n.EnrichFunction, "EnrichPartition"),
			lambda("Throttles", n.CleanupFunction, "CleanupLocks")}},
		{title: "Discovery runs", stat: "Sum", metrics: [][]any{
			lambda("Invocations", n.DiscoverFunction, "runs"),
			b.own(contract.MetricJobsPublished, map[string]any{"label": "jobs published"}),
			b.own(contract.MetricPublishFailures, map[string]any{"label": "publish failures"}),
			b.own(contract.MetricUnreadableObjects, map[string]any{"label": "unreadable Silver objects"})}},
		{title: "Discovery cursor lag (seconds)", stat: "Maximum",
			lines: []line{{"alarm", s.AlarmCursorLag.Seconds()}}, metrics: [][]any{
				b.own(contract.MetricCursorLag, map[string]any{"label": "cursor lag"})}},
		{title: "Job lifecycle (per sweep)", stat: "Sum",
			lines: []line{{"stuck alarm", float64(s.AlarmStuckJobs)}}, metrics: [][]any{
				b.own(contract.MetricStuckJobs, map[string]any{"label": "stuck jobs", "stat": "Maximum"}),
				b.own(contract.MetricJobsRequeued, map[string]any{"label": "requeued"}),
				b.own(contract.MetricAttemptsDeferred, map[string]any{"label": "attempts deferred (capacity)"})}},
		{title: "Oldest unfinished job (seconds)", stat: "Maximum",
			lines: []line{{"alarm", s.AlarmOldestJobAge.Seconds()}}, metrics: [][]any{
				b.own(contract.MetricOldestJobAge, map[string]any{"label": "oldest QUEUED / PENDING / IN_PROGRESS"})}},
		{title: "Dead-letter queue", stat: "Maximum",
			lines: []line{{"depth alarm", float64(s.AlarmDLQMessages)}}, metrics: [][]any{
				{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", n.DeadLetterQueue, map[string]any{"label": "messages"}},
				{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", n.DeadLetterQueue,
					map[string]any{"label": "oldest message age (s)", "yAxis": "right"}}}},
	}
}

// DashboardBody renders the dashboard JSON: two widgets per row.
func (b *builder) dashboardBody() (string, error) {
	var body []map[string]any
	for i, w := range b.widgets() {
		props := map[string]any{
			"title": w.title, "metrics": w.metrics, "stat": w.stat, "period": dashboardPeriod,
			"region": b.acct.Region, "view": "timeSeries",
		}
		if len(w.lines) > 0 {
			var lines []any
			for _, l := range w.lines {
				lines = append(lines, map[string]any{"label": l.label, "value": l.value})
			}
			props["annotations"] = map[string]any{"horizontal": lines}
		}
		body = append(body, map[string]any{
			"type": "metric", "x": 12 * (i % 2), "y": 6 * (i / 2), "width": 12, "height": 6, "properties": props,
		})
	}
	out, err := json.Marshal(map[string]any{"widgets": body})
	if err != nil {
		return "", fmt.Errorf("render dashboard: %w", err)
	}
	return string(out), nil
}

// dashboard creates the dashboard and returns its console URL.
func (b *builder) dashboard() (pulumi.StringOutput, error) {
	body, err := b.dashboardBody()
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	d, err := cloudwatch.NewDashboard(b.ctx, b.names.Dashboard, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(b.names.Dashboard),
		DashboardBody: pulumi.String(body),
	}, b.parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("dashboard: %w", err)
	}
	return pulumi.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s",
		b.acct.Region, b.acct.Region, d.DashboardName), nil
}
