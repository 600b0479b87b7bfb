// Package pipeline is the Pulumi component of one stack of the enrichment pipeline:
// tables, queues, the four functions with their roles, the state machine, schedules,
// alarms and the dashboard.
package pipeline

import (
	"fmt"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Type is the component's Pulumi type token.
const Type = "ai-enrichment:index:Pipeline"

// Functions are the Lambda functions, named by their directory under functions/cmd.
var Functions = func() []string {
	var keys []string
	for _, f := range manifest.Functions {
		keys = append(keys, f.FunctionKey())
	}
	return keys
}()

// Args is what the program knows before any resource exists.
type Args struct {
	Settings stacks.Settings
	Account  contract.Account
	// Code holds the deployment archive of each function in Functions.
	Code map[string]pulumi.Archive
	// Machine is the typed state machine (functions/workflow): its definition and
	// the permissions its tasks declared.
	Machine *workflow.StateMachine
}

// Pipeline is the deployed stack. Its outputs are what operators and the CLI need.
type Pipeline struct {
	pulumi.ResourceState

	QueueURL        pulumi.StringOutput
	DLQURL          pulumi.StringOutput
	StateMachineARN pulumi.StringOutput
	DashboardURL    pulumi.StringOutput
	AlarmTopicARN   pulumi.StringOutput
	FunctionARNs    pulumi.StringMap // by function (Functions)
}

// builder carries what every part of the component needs while it is created.
type builder struct {
	ctx    *pulumi.Context
	parent pulumi.ResourceOption
	names  contract.Names
	s      stacks.Settings
	acct   contract.Account
	stack  spec.Stack // what the handlers' declarations are evaluated against
	tags   pulumi.StringMap
	prefix string
}

// New creates the pipeline of one stack.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Pipeline, error) {
	s := args.Settings
	if err := s.Validate(); err != nil {
		return nil, err
	}
	for _, fn := range Functions {
		if args.Code[fn] == nil {
			return nil, fmt.Errorf("pipeline: no code archive for function %s", fn)
		}
	}
	p := &Pipeline{}
	if err := ctx.RegisterComponentResource(Type, name, p, opts...); err != nil {
		return nil, fmt.Errorf("register %s: %w", Type, err)
	}
	names := contract.NamesFor(s.Stack)
	tags := pulumi.StringMap{"Project": pulumi.String(contract.Project), "Stack": pulumi.String(s.Stack),
		"ManagedBy": pulumi.String("pulumi")}
	for k, v := range s.Tags {
		tags[k] = pulumi.String(v)
	}
	b := &builder{
		ctx: ctx, parent: pulumi.Parent(p), names: names, s: s, acct: args.Account,
		stack: spec.Stack{Account: args.Account, Names: names, Settings: s}, tags: tags,
		prefix: contract.Project + "-" + s.Stack + "-",
	}

	if err := b.tables(); err != nil {
		return nil, err
	}
	q, err := b.queues()
	if err != nil {
		return nil, err
	}
	fns, err := b.functions(args.Code, q)
	if err != nil {
		return nil, err
	}
	sm, err := b.stateMachine(args.Machine)
	if err != nil {
		return nil, err
	}
	if err := b.triggers(fns, q); err != nil {
		return nil, err
	}
	topic, err := b.alarmTopic()
	if err != nil {
		return nil, err
	}
	if err := b.alarms(topic); err != nil {
		return nil, err
	}
	dashboardURL, err := b.dashboard()
	if err != nil {
		return nil, err
	}

	p.QueueURL, p.DLQURL, p.StateMachineARN = q.jobs.Url, q.dlq.Url, sm.Arn
	p.DashboardURL, p.AlarmTopicARN = dashboardURL, topic
	p.FunctionARNs = pulumi.StringMap{}
	for fn, f := range fns {
		p.FunctionARNs[fn] = f.Arn
	}
	outputs := pulumi.Map{
		"queueUrl": p.QueueURL, "dlqUrl": p.DLQURL, "stateMachineArn": p.StateMachineARN,
		"dashboardUrl": p.DashboardURL, "alarmTopicArn": p.AlarmTopicARN,
		"queueArn": q.jobs.Arn, "dlqArn": q.dlq.Arn,
		"semaphoreTable": pulumi.String(names.SemaphoreTable), "statusTable": pulumi.String(names.StatusTable),
		"stateMachineName": pulumi.String(names.StateMachine), "functionArns": p.FunctionARNs,
	}
	if err := ctx.RegisterResourceOutputs(p, outputs); err != nil {
		return nil, fmt.Errorf("register outputs: %w", err)
	}
	return p, nil
}
