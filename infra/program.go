package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/lambdapack"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/infra/pipeline"
	"github.com/aienrichment/ai-enrichment/stacks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// settings reads the project's namespaced keys from the stack config and validates
// them (the same loader the CLI applies to Pulumi.<stack>.yaml).
func settings(ctx *pulumi.Context) (stacks.Settings, error) {
	cfg := map[string]string{}
	for _, key := range stacks.Keys() {
		if v, ok := ctx.GetConfig(key); ok {
			cfg[key] = v
		}
	}
	return stacks.FromConfig(ctx.Stack(), cfg)
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
