package pipeline

import (
	"fmt"

	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Runtime and architecture of every function: a static Go binary named bootstrap.
const (
	Runtime      = "provided.al2023"
	Architecture = "arm64"
)

// function is how one Lambda is sized; its role and environment come from its
// handler's declaration (functions/manifest).
type function struct {
	memoryMB   int
	timeoutSec int
	reserved   int // reserved concurrency; 0 leaves the function unreserved
}

func (b *builder) functionSpecs() map[string]function {
	s := b.s
	return map[string]function{
		"discover-partitions": {512, int(s.DiscoverTimeout.Seconds()), 0},
		"invoke-enrichment":   {128, int(s.InvokeTimeout.Seconds()), 0},
		// Reserved concurrency backs the semaphore up: even if the count drifts, no
		// more passes run at once than the limit plus the admission buffer.
		"enrich-partition": {256, int(s.PassTimeout.Seconds()), s.ReservedConcurrency()},
		"cleanup-locks":    {128, int(s.CleanupTimeout.Seconds()), 0},
	}
}

// environment is what the function's handler declared it reads, with the queue URL
// once the queue exists.
func (b *builder) environment(f spec.Declared, q queues) pulumi.StringMapOutput {
	return q.jobs.Url.ApplyT(func(url string) map[string]string {
		st := b.stack
		st.QueueURL = url
		return f.Environment(st)
	}).(pulumi.StringMapOutput)
}

// functions creates, per function, its log group (before the function, so Lambda
// never creates one without retention), its own role and the function itself.
func (b *builder) functions(code map[string]pulumi.Archive, q queues) (map[string]*lambda.Function, error) {
	out := map[string]*lambda.Function{}
	for _, decl := range manifest.Functions {
		key, name := decl.FunctionKey(), decl.FunctionName(b.names)
		size := b.functionSpecs()[key]
		logs, err := cloudwatch.NewLogGroup(b.ctx, name+"-logs", &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(manifest.LogGroup(name)),
			RetentionInDays: pulumi.Int(b.s.LogRetentionDays),
			Tags:            b.tags,
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("log group of %s: %w", key, err)
		}
		role, err := b.role(manifest.FunctionRole(b.stack, decl))
		if err != nil {
			return nil, fmt.Errorf("role of %s: %w", key, err)
		}
		args := &lambda.FunctionArgs{
			Name:          pulumi.String(name),
			Role:          role.Arn,
			Runtime:       pulumi.String(Runtime),
			Handler:       pulumi.String("bootstrap"),
			Architectures: pulumi.StringArray{pulumi.String(Architecture)},
			Code:          code[key],
			MemorySize:    pulumi.Int(size.memoryMB),
			Timeout:       pulumi.Int(size.timeoutSec),
			Environment:   &lambda.FunctionEnvironmentArgs{Variables: b.environment(decl, q)},
			LoggingConfig: &lambda.FunctionLoggingConfigArgs{
				LogFormat:           pulumi.String("JSON"),
				LogGroup:            logs.Name,
				ApplicationLogLevel: pulumi.String("INFO"),
				SystemLogLevel:      pulumi.String("WARN"),
			},
			TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
			Tags:          b.tags,
		}
		if size.reserved > 0 {
			args.ReservedConcurrentExecutions = pulumi.Int(size.reserved)
		}
		// The role's policy must exist before the first invocation.
		f, err := lambda.NewFunction(b.ctx, name, args, b.parent, pulumi.DependsOn([]pulumi.Resource{logs, role}))
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", key, err)
		}
		out[key] = f
	}
	return out, nil
}
