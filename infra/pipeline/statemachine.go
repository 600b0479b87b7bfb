package pipeline

import (
	"fmt"

	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// stateMachine creates the Standard state machine with a role derived from its
// tasks. Logging is ERROR level without execution data unless the stack opts in:
// execution data holds postings and model output.
func (b *builder) stateMachine(m *workflow.StateMachine) (*sfn.StateMachine, error) {
	name := b.names.StateMachine
	definition, err := m.JSON()
	if err != nil {
		return nil, fmt.Errorf("state machine definition: %w", err)
	}
	logs, err := cloudwatch.NewLogGroup(b.ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/vendedlogs/states/" + name),
		RetentionInDays: pulumi.Int(b.s.LogRetentionDays),
		Tags:            b.tags,
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("state machine log group: %w", err)
	}
	role, err := b.role(manifest.MachineRole(b.stack, m))
	if err != nil {
		return nil, fmt.Errorf("state machine role: %w", err)
	}
	sm, err := sfn.NewStateMachine(b.ctx, name, &sfn.StateMachineArgs{
		Name:       pulumi.String(name),
		Type:       pulumi.String("STANDARD"),
		RoleArn:    role.Arn,
		Definition: pulumi.String(string(definition)),
		LoggingConfiguration: &sfn.StateMachineLoggingConfigurationArgs{
			Level:                pulumi.String("ERROR"),
			IncludeExecutionData: pulumi.Bool(b.s.LogExecutionData),
			LogDestination:       pulumi.Sprintf("%s:*", logs.Arn),
		},
		TracingConfiguration: &sfn.StateMachineTracingConfigurationArgs{Enabled: pulumi.Bool(true)},
		Tags:                 b.tags,
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("state machine: %w", err)
	}
	return sm, nil
}
