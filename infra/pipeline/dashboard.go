package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// widget is one 12×6 metric graph of the dashboard.
type widget struct {
	title   string
	metrics [][]any
	stat    string
	// annotation draws a horizontal line at a limit (0: none).
	annotation float64
}

// insights is a Metrics Insights query: it sums our EMF metrics over every
// dimension the handlers emit.
// insightsFrom is the FROM clause of a Metrics Insights query over this stack's
// custom metrics (every metric we emit carries a Stack dimension).
func insightsFrom(stack string) string {
	return fmt.Sprintf("%q WHERE Stack = '%s'", contract.MetricsNamespace, stack)
}

func insights(id, label, query string) []any {
	return []any{map[string]any{"id": id, "label": label, "expression": query}}
}

func (b *builder) widgets() []widget {
	n, ns := b.names, insightsFrom(b.s.Stack)
	fn := []any{"FunctionName", n.EnrichFunction}
	sm := []any{"StateMachineArn", b.acct.StateMachineARN(n.StateMachine)}
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
		{title: "Slots in use", stat: "Maximum", annotation: float64(b.s.MaxConcurrentExecutions), metrics: [][]any{
			insights("slots", "slots in use", "SELECT MAX("+contract.MetricSlotsInUse+") FROM "+ns),
			{contract.MetricsNamespace, contract.MetricSemaphoreDrift, "Stack", b.s.Stack, map[string]any{"label": "semaphore drift"}}}},
		{title: "Model tokens", stat: "Sum", metrics: [][]any{
			insights("input", "input tokens", "SELECT SUM(InputTokens) FROM "+ns),
			insights("output", "output tokens", "SELECT SUM(OutputTokens) FROM "+ns)}},
		{title: "Model cost (USD)", stat: "Sum", metrics: [][]any{
			insights("cost", "cost USD", "SELECT SUM(CostUSD) FROM "+ns)}},
		{title: "Cache hit rate and throttles", stat: "Sum", metrics: [][]any{
			insights("hits", "cache hit rate (0-1)", "SELECT AVG(CacheHit) FROM "+ns),
			insights("throttles", "model throttles", "SELECT SUM("+contract.MetricModelThrottles+") FROM "+ns)}},
		{title: "Passes by parse status", stat: "Sum", metrics: [][]any{
			insights("parse", "", "SELECT COUNT(CacheHit) FROM "+ns+" GROUP BY ParseStatus")}},
	}
}

// DashboardBody renders the dashboard JSON: two widgets per row.
func (b *builder) dashboardBody() (string, error) {
	var body []map[string]any
	for i, w := range b.widgets() {
		props := map[string]any{
			"title": w.title, "metrics": w.metrics, "stat": w.stat, "period": 60,
			"region": b.acct.Region, "view": "timeSeries",
		}
		if w.annotation > 0 {
			props["annotations"] = map[string]any{"horizontal": []any{map[string]any{"label": "limit", "value": w.annotation}}}
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
