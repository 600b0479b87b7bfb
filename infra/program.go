package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/lambdapack"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/infra/pipeline"
	"github.com/aienrichment/ai-enrichment/stacks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// settings reads every key of the project's namespace from the stack config and
// validates it (the same loader the CLI applies to Pulumi.<stack>.yaml), so a
// misspelt `pulumi config set` key fails the deploy instead of keeping a default.
func settings(ctx *pulumi.Context) (stacks.Settings, error) {
	cfg, err := configMap(ctx)
	if err != nil {
		return stacks.Settings{}, err
	}
	return stacks.FromConfig(ctx.Stack(), cfg)
}

// configMap returns the whole stack config. The Go SDK answers only key by key
// (ctx.GetConfig), and asking for the known keys never sees a misspelt one. The
// language host (and the Automation API) hands the program the whole map as JSON in
// PULUMI_CONFIG, which is where ctx.GetConfig's values come from too; the two are
// checked against each other so a stale variable cannot stand in for the stack.
func configMap(ctx *pulumi.Context) (map[string]string, error) {
	raw, ok := os.LookupEnv(pulumi.EnvConfig)
	if !ok {
		return nil, fmt.Errorf("%s is not set: run the program through the Pulumi CLI", pulumi.EnvConfig)
	}
	cfg := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("stack config in %s: %w", pulumi.EnvConfig, err)
	}
	for _, key := range stacks.Keys() {
		got, known := ctx.GetConfig(key)
		if v, ok := cfg[key]; ok != known || v != got {
			return nil, fmt.Errorf("stack config: %s disagrees with the engine's config for %s", pulumi.EnvConfig, key)
		}
	}
	return cfg, nil
}

// account looks up where the stack deploys.
func account(ctx *pulumi.Context) (contract.Account, error) {
	id, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return contract.Account{}, fmt.Errorf("caller identity: %w", err)
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return contract.Account{}, fmt.Errorf("region: %w", err)
	}
	part, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return contract.Account{}, fmt.Errorf("partition: %w", err)
	}
	return contract.Account{Partition: part.Partition, Region: region.Name, ID: id.AccountId}, nil
}

// buildFunctions packages every function into root/dist with lambdapack, in the same
// run as the deployment, so the archives always match the code.
func buildFunctions(ctx context.Context, root string) (map[string]pulumi.Archive, error) {
	code := map[string]pulumi.Archive{}
	for _, fn := range pipeline.Functions {
		path, err := lambdapack.Package(ctx, filepath.Join(root, "functions"), filepath.Join(root, "dist"), fn)
		if err != nil {
			return nil, err
		}
		code[fn] = pulumi.NewFileArchive(path)
	}
	return code, nil
}

// program deploys one stack given the function archives.
func program(ctx *pulumi.Context, code map[string]pulumi.Archive) error {
	s, err := settings(ctx)
	if err != nil {
		return err
	}
	acct, err := account(ctx)
	if err != nil {
		return err
	}
	names := contract.NamesFor(s.Stack)
	sm, err := workflow.Pipeline(names, s, acct)
	if err != nil {
		return fmt.Errorf("state machine: %w", err)
	}
	p, err := pipeline.New(ctx, contract.Project+"-"+s.Stack, pipeline.Args{
		Settings: s, Account: acct, Code: code, Machine: sm,
	})
	if err != nil {
		return err
	}
	ctx.Export("queueUrl", p.QueueURL)
	ctx.Export("dlqUrl", p.DLQURL)
	ctx.Export("stateMachineArn", p.StateMachineARN)
	ctx.Export("dashboardUrl", p.DashboardURL)
	ctx.Export("alarmTopicArn", p.AlarmTopicARN)
	ctx.Export("functionArns", p.FunctionARNs)
	ctx.Export("names", pulumi.ToStringMap(map[string]string{
		"semaphoreTable": names.SemaphoreTable, "statusTable": names.StatusTable,
		"queue": names.Queue, "deadLetterQueue": names.DeadLetterQueue, "stateMachine": names.StateMachine,
		"discoverFunction": names.DiscoverFunction, "invokeFunction": names.InvokeFunction,
		"enrichFunction": names.EnrichFunction, "cleanupFunction": names.CleanupFunction, "dashboard": names.Dashboard,
	}))
	return nil
}
