package pipeline

import (
	"slices"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// grants builds the least-privilege statements of each function: only the actions
// its handler calls, on this stack's resources. Resources stay "*" only where AWS
// offers no resource-level permission (X-Ray, PutMetricData, which is pinned to our
// namespace by a condition instead).
type grants struct {
	acct  Account
	names contract.Names
	s     stacks.Settings
}

func (g grants) common(function string) []Statement {
	return []Statement{
		{Sid: "Logs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: []string{g.acct.logGroupARN(logGroupName(function))}},
		{Sid: "Tracing", Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, Resources: []string{"*"}},
		{Sid: "Metrics", Actions: []string{"cloudwatch:PutMetricData"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"StringEquals": {"cloudwatch:namespace": {contract.MetricsNamespace}}}},
	}
}

// bronze lets a function read and write enrichment objects. ListBucket, limited to
// the prefix, makes a missing object a 404 instead of a 403.
func (g grants) bronze(actions ...string) []Statement {
	return []Statement{
		{Sid: "BronzeObjects", Actions: actions,
			Resources: []string{g.acct.bucketARN(g.s.BronzeBucket, contract.BronzePrefix+"*")}},
		{Sid: "BronzeList", Actions: []string{"s3:ListBucket"}, Resources: []string{g.acct.bucketARN(g.s.BronzeBucket, "")},
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {contract.BronzePrefix + "*"}}}},
	}
}

func (g grants) statusTable(actions ...string) Statement {
	t := g.acct.TableARN(g.names.StatusTable)
	return Statement{Sid: "StatusTable", Actions: actions, Resources: []string{t, t + "/index/" + contract.StatusIndex}}
}

func (g grants) semaphoreTable(actions ...string) Statement {
	return Statement{Sid: "SemaphoreTable", Actions: actions, Resources: []string{g.acct.TableARN(g.names.SemaphoreTable)}}
}

func (g grants) discover() []Statement {
	silverList := g.s.SilverPrefix + "*"
	return slices.Concat(g.common(g.names.DiscoverFunction), g.bronze("s3:GetObject", "s3:PutObject"), []Statement{
		{Sid: "SilverObjects", Actions: []string{"s3:GetObject"},
			Resources: []string{g.acct.bucketARN(g.s.SilverBucket, silverList)}},
		{Sid: "SilverList", Actions: []string{"s3:ListBucket"}, Resources: []string{g.acct.bucketARN(g.s.SilverBucket, "")},
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {silverList}}}},
		g.statusTable("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"),
		{Sid: "Publish", Actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"},
			Resources: []string{g.acct.QueueARN(g.names.Queue)}},
	})
}

func (g grants) invoke() []Statement {
	return slices.Concat(g.common(g.names.InvokeFunction), []Statement{
		{Sid: "Consume", Actions: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
			"sqs:GetQueueAttributes", "sqs:SendMessage"}, Resources: []string{g.acct.QueueARN(g.names.Queue)}},
		// Poison messages go to the DLQ at once instead of blocking their group.
		{Sid: "DeadLetter", Actions: []string{"sqs:GetQueueUrl", "sqs:SendMessage"}, Resources: []string{g.acct.QueueARN(g.names.DeadLetterQueue)}},
		{Sid: "Start", Actions: []string{"states:StartExecution", "states:ListExecutions"},
			Resources: []string{g.acct.StateMachineARN(g.names.StateMachine)}},
		// An existing execution of a message's publication: running, or ended before its claim.
		{Sid: "Executions", Actions: []string{"states:DescribeExecution"},
			Resources: []string{g.acct.ExecutionsARN(g.names.StateMachine)}},
		g.semaphoreTable("dynamodb:GetItem"),
		g.statusTable("dynamodb:GetItem", "dynamodb:UpdateItem"),
	})
}

func (g grants) enrich() []Statement {
	var models []string
	for _, m := range g.s.Models() {
		for _, arn := range g.acct.ModelARNs(m) {
			if !slices.Contains(models, arn) {
				models = append(models, arn)
			}
		}
	}
	st := slices.Concat(g.common(g.names.EnrichFunction), g.bronze("s3:GetObject", "s3:PutObject"), []Statement{
		{Sid: "Models", Actions: []string{"bedrock:InvokeModel"}, Resources: models},
		g.statusTable("dynamodb:GetItem", "dynamodb:UpdateItem"),
	})
	if g.s.AdaptiveConcurrency { // the concurrency controller runs in the pass
		st = append(st, g.semaphoreTable("dynamodb:GetItem", "dynamodb:UpdateItem"))
	}
	return st
}

func (g grants) cleanup() []Statement {
	return slices.Concat(g.common(g.names.CleanupFunction), []Statement{
		g.semaphoreTable("dynamodb:GetItem", "dynamodb:UpdateItem"),
		g.statusTable("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"),
		{Sid: "Executions", Actions: []string{"states:DescribeExecution"},
			Resources: []string{g.acct.ExecutionsARN(g.names.StateMachine)}},
		{Sid: "ListExecutions", Actions: []string{"states:ListExecutions"},
			Resources: []string{g.acct.StateMachineARN(g.names.StateMachine)}},
		// The reaper publishes requeued jobs and reads the queue depth.
		{Sid: "Requeue", Actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"},
			Resources: []string{g.acct.QueueARN(g.names.Queue)}},
	})
}

// stateMachine is the state machine role: what the definition's tasks declared, plus
// log delivery and tracing, which AWS only authorises on "*".
func (g grants) stateMachine(tasks []Statement) []Statement {
	return append(tasks,
		Statement{Sid: "LogDelivery", Actions: []string{"logs:CreateLogDelivery", "logs:GetLogDelivery",
			"logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
			"logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, Resources: []string{"*"}},
		Statement{Sid: "Tracing", Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords",
			"xray:GetSamplingRules", "xray:GetSamplingTargets"}, Resources: []string{"*"}},
	)
}
