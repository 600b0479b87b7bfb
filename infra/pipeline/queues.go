package pipeline

import (
	"fmt"

	"github.com/aienrichment/ai-enrichment/stacks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// retention is how long messages stay in the jobs queue and the DLQ (the maximum);
// the DLQ age alarm's threshold is validated against the same value.
var retention = int(stacks.QueueRetention.Seconds())

type queues struct {
	jobs, dlq *sqs.Queue
}

// queues creates the FIFO jobs queue and its dead-letter queue, both encrypted with
// SQS-managed keys.
func (b *builder) queues() (queues, error) {
	dlq, err := sqs.NewQueue(b.ctx, b.names.DeadLetterQueue, &sqs.QueueArgs{
		Name:                    pulumi.String(b.names.DeadLetterQueue),
		FifoQueue:               pulumi.Bool(true),
		MessageRetentionSeconds: pulumi.Int(retention),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    b.tags,
	}, b.parent)
	if err != nil {
		return queues{}, fmt.Errorf("dead-letter queue: %w", err)
	}
	redrive := dlq.Arn.ApplyT(func(arn string) string {
		return fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, arn, b.s.QueueMaxReceives)
	}).(pulumi.StringOutput)
	// Many message groups and per-group throughput: jobs of different groups are
	// consumed in parallel while one job's messages stay ordered.
	jobs, err := sqs.NewQueue(b.ctx, b.names.Queue, &sqs.QueueArgs{
		Name:                      pulumi.String(b.names.Queue),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(false),
		DeduplicationScope:        pulumi.String("messageGroup"),
		FifoThroughputLimit:       pulumi.String("perMessageGroupId"),
		VisibilityTimeoutSeconds:  pulumi.Int(int(b.s.QueueVisibility.Seconds())),
		MessageRetentionSeconds:   pulumi.Int(retention),
		ReceiveWaitTimeSeconds:    pulumi.Int(20),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		RedrivePolicy:             redrive,
		Tags:                      b.tags,
	}, b.parent)
	if err != nil {
		return queues{}, fmt.Errorf("jobs queue: %w", err)
	}
	return queues{jobs: jobs, dlq: dlq}, nil
}
