package queue

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

func entryOfSize(id string, n int) types.SendMessageBatchRequestEntry {
	return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(strings.Repeat("x", n))}
}

func TestBatches(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		want  []int // entries per batch
	}{
		{"empty", nil, nil},
		{"ten per batch", make([]int, 23), []int{10, 10, 3}},
		{"split by bytes", []int{100 << 10, 100 << 10, 100 << 10, 10}, []int{2, 2}},
		{"oversized alone", []int{10, 300 << 10, 10}, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []types.SendMessageBatchRequestEntry
			for i, n := range tt.sizes {
				in = append(in, entryOfSize(fmt.Sprint(i), n))
			}
			var got []int
			for _, b := range batches(in) {
				got = append(got, len(b))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("batch sizes %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	cfg, err := localcloud.Shared(t).AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.SilverBucket, s.BronzeBucket = "silver-queue", "bronze-queue"
	res, err := localcloud.Provision(ctx, cfg, contract.NamesFor("queue"), s, "")
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	p := NewPublisher(client, res.QueueURL, 4)
	p.backoff = 0

	var entries []Entry
	for i := range 23 {
		id := fmt.Sprint(1000 + i)
		part := "year=2025/month=06/day=01/hour=00"
		if i == 7 {
			part = strings.Repeat("p", 1100<<10) // over the 1 MiB message size limit
		}
		entries = append(entries, Entry{
			Message: contract.QueueMessage{Job: contract.JobRef{JobPostingID: id, Partition: part, PostingKey: contract.PostingKey(id)}},
			DedupID: contract.DedupID(id, part),
		})
	}
	failed, err := p.Publish(ctx, entries)
	if err != nil || fmt.Sprint(failed) != "[1007]" {
		t.Fatalf("failed %v, err %v; want only the oversized 1007", failed, err)
	}
	// Publishing again within the deduplication window adds nothing.
	if _, err := p.Publish(ctx, entries[:5]); err != nil {
		t.Fatal(err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(res.QueueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)]; n != "22" {
		t.Fatalf("%s messages on the queue, want 22", n)
	}
}
