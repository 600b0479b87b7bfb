package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/localcloud"
)

// T6: the chaos test's peek leaves every message visible. The jobs queue hides a
// received message for its visibility timeout (minutes), and a FIFO queue holds back
// the rest of that message's group meanwhile; a peek that only asked ReceiveMessage
// for a zero timeout stalled the run, because the SDK leaves an int32 of 0 out of the
// request and the queue's own timeout applies.
func TestPeekLeavesMessagesVisible(t *testing.T) {
	ctx := context.Background()
	cloud := localcloud.Own(t, localcloud.Options{})
	cfg, err := cloud.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("peek.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "VisibilityTimeout": "180"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	const messages = 4
	for i := range messages {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint(i)),
			MessageGroupId: aws.String(fmt.Sprint("g", i%2)), MessageDeduplicationId: aws.String(fmt.Sprint(i)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := peek(t, q, url, 2); len(got) != 2 {
		t.Fatalf("peeked %d messages, want 2", len(got))
	}
	seen := map[string]bool{}
	for range 3 {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			seen[aws.ToString(m.Body)] = true
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != messages {
		t.Fatalf("after the peek %d of %d messages could be received (%v): the peek hid the others", len(seen), messages, seen)
	}
}
