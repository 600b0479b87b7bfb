package pipeline

import (
	"fmt"
	"strconv"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/controller"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Runtime and architecture of every function: a static Go binary named bootstrap.
const (
	Runtime      = "provided.al2023"
	Architecture = "arm64"
)

// function is how one Lambda is configured.
type function struct {
	name       string
	memoryMB   int
	timeoutSec int
	reserved   int // reserved concurrency; 0 leaves the function unreserved
	statements []Statement
}

func (b *builder) functionSpecs() map[string]function {
	s := b.s
	return map[string]function{
		"discover-partitions": {b.names.DiscoverFunction, 512, int(s.DiscoverTimeout.Seconds()), 0, b.g.discover()},
		"invoke-enrichment":   {b.names.InvokeFunction, 128, int(s.InvokeTimeout.Seconds()), 0, b.g.invoke()},
		// Reserved concurrency backs the semaphore up: even if the count drifts, no
		// more passes run at once than the limit plus the admission buffer.
		"enrich-partition": {b.names.EnrichFunction, 256, int(s.PassTimeout.Seconds()),
			s.ReservedConcurrency(), b.g.enrich()},
		"cleanup-locks": {b.names.CleanupFunction, 128, int(s.CleanupTimeout.Seconds()), 0, b.g.cleanup()},
	}
}

// environment is what every handler reads; names come from contract.
func (b *builder) environment(q queues) pulumi.StringMap {
	s, n := b.s, b.names
	return pulumi.StringMap{
		contract.EnvStack:                 pulumi.String(s.Stack),
		contract.EnvSemaphoreTable:        pulumi.String(n.SemaphoreTable),
		contract.EnvStatusTable:           pulumi.String(n.StatusTable),
		contract.EnvQueueURL:              q.jobs.Url,
		contract.EnvStateMachineARN:       pulumi.String(b.acct.StateMachineARN(n.StateMachine)),
		contract.EnvSilverBucket:          pulumi.String(s.SilverBucket),
		contract.EnvSilverPrefix:          pulumi.String(s.SilverPrefix),
		contract.EnvBronzeBucket:          pulumi.String(s.BronzeBucket),
		contract.EnvModelPass1:            pulumi.String(s.ModelPass1),
		contract.EnvModelPass2:            pulumi.String(s.ModelPass2),
		contract.EnvModelPass3:            pulumi.String(s.ModelPass3),
		contract.EnvServiceTier:           pulumi.String(s.ServiceTier),
		contract.EnvReasoningEffortPass1:  pulumi.String(s.ReasoningEffortPass1),
		contract.EnvReasoningEffortPass2:  pulumi.String(s.ReasoningEffortPass2),
		contract.EnvReasoningEffortPass3:  pulumi.String(s.ReasoningEffortPass3),
		contract.EnvMaxConcurrency:        pulumi.String(strconv.Itoa(s.MaxConcurrentExecutions)),
		contract.EnvConcurrencyController: pulumi.String(controller.EnvValue(s)),
		contract.EnvAdmissionBuffer:       pulumi.String(strconv.Itoa(s.AdmissionBuffer)),
		contract.EnvMaxPartitions:         pulumi.String(strconv.Itoa(s.MaxPartitionsPerRun)),
		contract.EnvMaxJobs:               pulumi.String(strconv.Itoa(s.MaxJobsPerPartition)),
		contract.EnvMaxAttempts:           pulumi.String(strconv.Itoa(s.MaxAttempts)),
		contract.EnvMessageGroups:         pulumi.String(strconv.Itoa(s.MessageGroups)),
		contract.EnvLockTimeout:           pulumi.String(strconv.Itoa(int(s.LockTimeout.Seconds()))),
		contract.EnvBreakerFailures:       pulumi.String(strconv.Itoa(s.BreakerFailures)),
		contract.EnvBreakerCooldown:       pulumi.String(strconv.Itoa(int(s.BreakerCooldown.Seconds()))),
		contract.EnvPassTimeout:           pulumi.String(strconv.Itoa(int(s.PassTimeout.Seconds()))),
		contract.EnvMetricsNamespace:      pulumi.String(contract.MetricsNamespace),
	}
}

func logGroupName(function string) string { return "/aws/lambda/" + function }

// functions creates, per function, its log group (before the function, so Lambda
// never creates one without retention), its own role and the function itself.
func (b *builder) functions(code map[string]pulumi.Archive, q queues) (map[string]*lambda.Function, error) {
	env := b.environment(q)
	out := map[string]*lambda.Function{}
	for _, key := range Functions {
		spec := b.functionSpecs()[key]
		logs, err := cloudwatch.NewLogGroup(b.ctx, spec.name+"-logs", &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(logGroupName(spec.name)),
			RetentionInDays: pulumi.Int(b.s.LogRetentionDays),
			Tags:            b.tags,
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("log group of %s: %w", key, err)
		}
		role, err := b.role(spec.name, "lambda.amazonaws.com", spec.statements)
		if err != nil {
			return nil, fmt.Errorf("role of %s: %w", key, err)
		}
		args := &lambda.FunctionArgs{
			Name:          pulumi.String(spec.name),
			Role:          role.Arn,
			Runtime:       pulumi.String(Runtime),
			Handler:       pulumi.String("bootstrap"),
			Architectures: pulumi.StringArray{pulumi.String(Architecture)},
			Code:          code[key],
			MemorySize:    pulumi.Int(spec.memoryMB),
			Timeout:       pulumi.Int(spec.timeoutSec),
			Environment:   &lambda.FunctionEnvironmentArgs{Variables: env},
			LoggingConfig: &lambda.FunctionLoggingConfigArgs{
				LogFormat:           pulumi.String("JSON"),
				LogGroup:            logs.Name,
				ApplicationLogLevel: pulumi.String("INFO"),
				SystemLogLevel:      pulumi.String("WARN"),
			},
			TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
			Tags:          b.tags,
		}
		if spec.reserved > 0 {
			args.ReservedConcurrentExecutions = pulumi.Int(spec.reserved)
		}
		// The role's policy must exist before the first invocation.
		f, err := lambda.NewFunction(b.ctx, spec.name, args, b.parent, pulumi.DependsOn([]pulumi.Resource{logs, role}))
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", key, err)
		}
		out[key] = f
	}
	return out, nil
}

// role creates one role with one inline least-privilege policy.
func (b *builder) role(name, service string, statements []Statement) (*iam.Role, error) {
	policy, err := Policy(statements)
	if err != nil {
		return nil, err
	}
	return iam.NewRole(b.ctx, name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(name),
		AssumeRolePolicy: pulumi.String(trustPolicy(service)),
		InlinePolicies: iam.RoleInlinePolicyArray{
			iam.RoleInlinePolicyArgs{Name: pulumi.String("least-privilege"), Policy: pulumi.String(policy)},
		},
		Tags: b.tags,
	}, b.parent)
}
