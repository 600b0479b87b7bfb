package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
)

// triggers wires what starts each function: the SQS event source of the invoke
// function, the discover and cleanup schedules, and the rule that sends every ended execution
// of this state machine to cleanup (cleanup.ForwardedStatuses).
func (b *builder) triggers(fns map[string]*lambda.Function, q queues) error {
	if _, err := lambda.NewEventSourceMapping(b.ctx, b.prefix+"jobs-mapping", &lambda.EventSourceMappingArgs{
		EventSourceArn:        q.jobs.Arn,
		FunctionName:          fns["invoke-enrichment"].Arn,
		BatchSize:             pulumi.Int(b.s.SQSBatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(b.s.InvokeMaxConcurrency),
		},
	}, b.parent); err != nil {
		return fmt.Errorf("event source mapping: %w", err)
	}

	pattern, err := json.Marshal(map[string]any{
		"source":      []string{"aws.states"},
		"detail-type": []string{"Step Functions Execution Status Change"},
		"detail": map[string]any{
			"status":          cleanup.ForwardedStatuses,
			"stateMachineArn": []string{b.acct.StateMachineARN(b.names.StateMachine)},
		},
	})
	if err != nil {
		return fmt.Errorf("status-change pattern: %w", err)
	}
	rules := []struct {
		suffix, function string
		args             *cloudwatch.EventRuleArgs
	}{
		{"discover", "discover-partitions", &cloudwatch.EventRuleArgs{ScheduleExpression: pulumi.String(b.s.DiscoverSchedule)}},
		{"cleanup", "cleanup-locks", &cloudwatch.EventRuleArgs{ScheduleExpression: pulumi.String(b.s.CleanupSchedule)}},
		{"execution-ended", "cleanup-locks", &cloudwatch.EventRuleArgs{EventPattern: pulumi.String(string(pattern))}},
	}
	for _, r := range rules {
		name := b.prefix + r.suffix
		r.args.Name, r.args.Tags = pulumi.String(name), b.tags
		rule, err := cloudwatch.NewEventRule(b.ctx, name, r.args, b.parent)
		if err != nil {
			return fmt.Errorf("rule %s: %w", name, err)
		}
		fn := fns[r.function]
		if _, err := cloudwatch.NewEventTarget(b.ctx, name, &cloudwatch.EventTargetArgs{
			Rule: rule.Name, Arn: fn.Arn,
		}, b.parent); err != nil {
			return fmt.Errorf("target of %s: %w", name, err)
		}
		if _, err := lambda.NewPermission(b.ctx, name, &lambda.PermissionArgs{
			Action: pulumi.String("lambda:InvokeFunction"), Function: fn.Name,
			Principal: pulumi.String("events.amazonaws.com"), SourceArn: rule.Arn,
		}, b.parent); err != nil {
			return fmt.Errorf("permission of %s: %w", name, err)
		}
	}
	return nil
}
