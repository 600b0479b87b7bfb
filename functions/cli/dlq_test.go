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

	// A body InvokeEnrichment refuses for good, in its own group.
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(st.Resources.DLQURL), MessageBody: aws.String(`{"job":{"job_posting_id":"../x"}}`),
		MessageGroupId: aws.String("g02"), MessageDeduplicationId: aws.String("bad"),
	}); err != nil {
		t.Fatal(err)
	}

	var r redriveReport
	runJSON(t, ExitOK, &r, "dlq", "redrive")
	if r.Applied || r.Waiting != 4 || len(r.Messages) != 0 {
		t.Fatalf("dry run: %+v", r)
	}
	// The dry run receives nothing: every message is still visible and unreceived.
	if n := depth(t, q, st.Resources.DLQURL); n != 4 {
		t.Fatalf("dry run left %d messages visible in the DLQ, want 4", n)
	}
	runJSON(t, ExitOK, &r, "dlq", "redrive", "--yes")
	if !r.Applied || r.Moved != 3 || r.Skipped != 1 || r.Deleted != 0 || len(r.Messages) != 4 {
		t.Fatalf("redrive: %+v", r)
	}
	for _, m := range r.Messages {
		// Receives before the redrive's own: the dry run added none.
		if m.Receives != 0 {
			t.Errorf("message %s: %d receives before the redrive, want 0 (the dry run must not receive)", m.MessageID, m.Receives)
		}
		if (m.Action == actionSkipped) != (m.Problem != "") {
			t.Errorf("message %+v: skipped exactly when its body is refused", m)
		}
	}
	// The skipped message is visible again in the DLQ; --bad delete removes it.
	if n := depth(t, q, st.Resources.DLQURL); n != 1 {
		t.Fatalf("%d messages left in the DLQ, want the skipped one", n)
	}
	runJSON(t, ExitOK, &r, "dlq", "redrive", "--yes", "--bad", "delete")
	if r.Deleted != 1 || r.Moved != 0 || r.Messages[0].Receives != 1 {
		t.Fatalf("delete: %+v", r)
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
	runJSON(t, ExitUsage, nil, "dlq", "redrive", "--yes", "--bad", "keep")
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
