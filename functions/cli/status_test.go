package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func TestStatus(t *testing.T) {
	st := localStack(t)
	t.Cleanup(func() {
		purgeQueue(t, st)
		if _, err := sqs.NewFromConfig(st.Config).PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(st.Resources.DLQURL)}); err != nil {
			t.Fatal(err)
		}
	})
	var before statusReport
	runJSON(t, ExitOK, &before, "status")
	if len(before.Jobs) != len(status.Overall) || before.Slots.Max != st.Settings.MaxConcurrentExecutions ||
		before.Queue.Name != st.Names.Queue || before.DLQ.Name != st.Names.DeadLetterQueue {
		t.Fatalf("status: %+v", before)
	}

	parts := writeSilver(t, st, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), 1, 3, 14)
	runJSON(t, ExitOK, nil, "backfill", "--from", parts[0].String(), "--to", parts[0].String())
	if _, err := sqs.NewFromConfig(st.Config).SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(st.Resources.DLQURL), MessageBody: aws.String("{}"),
		MessageGroupId: aws.String("g00"), MessageDeduplicationId: aws.String("status-test"),
	}); err != nil {
		t.Fatal(err)
	}

	var after statusReport
	runJSON(t, ExitOK, &after, "status")
	if got := after.Jobs[contract.StatusQueued] - before.Jobs[contract.StatusQueued]; got != 3 {
		t.Fatalf("%d more jobs QUEUED, want 3", got)
	}
	if got := after.Queue.Visible - before.Queue.Visible; got != 3 {
		t.Fatalf("%d more messages waiting, want 3", got)
	}
	if got := after.DLQ.Visible - before.DLQ.Visible; got != 1 {
		t.Fatalf("%d more dead letters, want 1", got)
	}
	out := runText(t, "status")
	// The effective limit is the controller's (earlier tests ran passes): only the maximum is fixed.
	for _, want := range []string{"stack dev", "QUEUED", "slots: 0 of ", "in use (effective limit; maximum 5)", "queue " + st.Names.DeadLetterQueue + ": 1 waiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}
