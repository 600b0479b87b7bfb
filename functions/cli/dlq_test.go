package cli

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
)

func TestDLQRedrive(t *testing.T) {
	st := localStack(t)
	t.Cleanup(func() { purgeQueue(t, st) })
	runJSON(t, ExitRefused, nil, "dlq", "redrive", "--yes")

	q := sqs.NewFromConfig(st.Config)
	ctx := context.Background()
	jobs := []string{"7001", "7002", "7003"}
	for _, id := range jobs {
		body, err := json.Marshal(contract.QueueMessage{Job: contract.JobRef{JobPostingID: id, PostingKey: contract.PostingKey(id)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(st.Resources.DLQURL), MessageBody: aws.String(string(body)),
			MessageGroupId: aws.String("g01"), MessageDeduplicationId: aws.String(contract.DedupID(id, "p")),
		}); err != nil {
			t.Fatal(err)
		}
	}

	var r redriveReport
	runJSON(t, ExitOK, &r, "dlq", "redrive")
	if r.Moved || r.Waiting != 3 || len(r.Messages) == 0 || r.Messages[0].JobPostingID != "7001" {
		t.Fatalf("dry run: %+v", r)
	}
	if n := depth(t, q, st.Resources.DLQURL); n != 3 {
		t.Fatalf("dry run left %d messages visible in the DLQ, want 3", n)
	}

	runJSON(t, ExitOK, &r, "dlq", "redrive", "--yes")
	if !r.Moved || len(r.Messages) != 3 {
		t.Fatalf("redrive: %+v", r)
	}
	if n := depth(t, q, st.Resources.DLQURL); n != 0 {
		t.Fatalf("%d messages left in the DLQ", n)
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(st.Resources.QueueURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 3 {
		t.Fatalf("%d messages in the jobs queue, want 3", len(out.Messages))
	}
	for i, m := range out.Messages {
		// In order, in their group, mapped to the execution name of the original message.
		want := contract.DedupID(jobs[i], "p")
		if m.Attributes["MessageGroupId"] != "g01" || aws.ToString(m.MessageAttributes[invoke.AttrOriginDedupID].StringValue) != want {
			t.Fatalf("message %d: attributes %v, origin %v", i, m.Attributes, m.MessageAttributes)
		}
		var msg contract.QueueMessage
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil || msg.Job.JobPostingID != jobs[i] {
			t.Fatalf("message %d: body %s", i, aws.ToString(m.Body))
		}
	}
	runJSON(t, ExitRefused, nil, "dlq", "redrive")
}

func depth(t *testing.T, q *sqs.Client, url string) int {
	t.Helper()
	out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := json.Unmarshal([]byte(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
