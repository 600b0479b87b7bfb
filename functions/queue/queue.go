// Package queue publishes job messages to the FIFO jobs queue.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// SendMessageBatch limits: 10 entries, and a combined payload that was 256 KiB for
// years (raised since, but the lower figure is safe everywhere).
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 << 10
	sendAttempts    = 4
)

// Entry is one message to publish.
type Entry struct {
	Message contract.QueueMessage
	DedupID string // FIFO deduplication id (contract.DedupID)
}

// EntryFor is the message of one publication of a job: the deduplication id and the
// execution name both derive from the publication counter the mark wrote, so no
// publication is ever mistaken for an earlier one.
func EntryFor(job contract.JobRef, publication int, force bool) Entry {
	dedup := fmt.Sprintf("%s#p%d", job.Partition, publication)
	if force {
		dedup += "#force"
	}
	return Entry{
		Message: contract.QueueMessage{Job: job, Force: force, Publication: publication},
		DedupID: contract.DedupID(job.JobPostingID, dedup),
	}
}

// Publisher sends entries with SendMessageBatch.
type Publisher struct {
	client *sqs.Client
	url    string
	groups int
	// backoff is the first wait before resending failed entries; it doubles.
	backoff time.Duration
}

// NewPublisher returns a publisher to the queue at url, spreading jobs over groups
// FIFO message groups.
func NewPublisher(client *sqs.Client, url string, groups int) *Publisher {
	return &Publisher{client: client, url: url, groups: groups, backoff: 100 * time.Millisecond}
}

// Publish sends every entry and returns the job ids that could not be sent after
// retries. Entries the queue rejects as the sender's fault are not retried. The error
// is only for a cancelled context.
func (p *Publisher) Publish(ctx context.Context, entries []Entry) (failed []string, err error) {
	pending := make([]types.SendMessageBatchRequestEntry, 0, len(entries))
	for _, e := range entries {
		body, err := json.Marshal(e.Message)
		if err != nil {
			return nil, fmt.Errorf("encoding message of job %s: %w", e.Message.Job.JobPostingID, err)
		}
		pending = append(pending, types.SendMessageBatchRequestEntry{
			Id:                     aws.String(e.Message.Job.JobPostingID),
			MessageBody:            aws.String(string(body)),
			MessageGroupId:         aws.String(contract.MessageGroupID(e.Message.Job.JobPostingID, p.groups)),
			MessageDeduplicationId: aws.String(e.DedupID),
		})
	}
	wait := p.backoff
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []types.SendMessageBatchRequestEntry
		for _, batch := range batches(pending) {
			r, f := p.send(ctx, batch)
			retry = append(retry, r...)
			failed = append(failed, f...)
		}
		pending = retry
		if len(pending) == 0 {
			break
		}
		if attempt == sendAttempts {
			for _, e := range pending {
				failed = append(failed, aws.ToString(e.Id))
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("publishing jobs: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return failed, nil
}

// Depth is the number of messages in the queue: visible, in flight and delayed
// (approximate, as SQS counts them).
func (p *Publisher) Depth(ctx context.Context) (int, error) {
	names := []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := p.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.url), AttributeNames: names})
	if err != nil {
		return 0, fmt.Errorf("read depth of %s: %w", p.url, err)
	}
	n := 0
	for _, name := range names {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			return 0, fmt.Errorf("queue %s attribute %s=%q: %w", p.url, name, out.Attributes[string(name)], err)
		}
		n += v
	}
	return n, nil
}

// send sends one batch and splits what did not go out into retryable entries and
// the ids of entries refused for good.
func (p *Publisher) send(ctx context.Context, batch []types.SendMessageBatchRequestEntry) (retry []types.SendMessageBatchRequestEntry, refused []string) {
	out, err := p.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.url), Entries: batch})
	if err != nil {
		// The SDK already retried transient errors; try the whole batch again later.
		return batch, nil
	}
	byID := make(map[string]types.SendMessageBatchRequestEntry, len(batch))
	for _, e := range batch {
		byID[aws.ToString(e.Id)] = e
	}
	for _, f := range out.Failed {
		if f.SenderFault {
			refused = append(refused, aws.ToString(f.Id))
		} else {
			retry = append(retry, byID[aws.ToString(f.Id)])
		}
	}
	return retry, refused
}

// batches groups entries by at most maxBatchEntries and maxBatchBytes of bodies.
func batches(entries []types.SendMessageBatchRequestEntry) [][]types.SendMessageBatchRequestEntry {
	var out [][]types.SendMessageBatchRequestEntry
	var cur []types.SendMessageBatchRequestEntry
	size := 0
	for _, e := range entries {
		n := len(aws.ToString(e.MessageBody))
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+n > maxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
