package cli

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
)

// TestLocksAndReconcile leaves an orphan slot (an execution Step Functions never
// knew, acquired long ago) plus one leaked count, and repairs both.
func TestLocksAndReconcile(t *testing.T) {
	st := localStack(t)
	const orphan = "job-4242-orphan"
	addOrphan(t, st, orphan, time.Now().Add(-2*time.Hour))

	var s slots
	// The effective limit is the controller's (seeded at deploy, moved by earlier
	// tests' passes in this shared cloud): within [1, maximum].
	runJSON(t, ExitOK, &s, "locks")
	if s.Count != 2 || s.Max != st.Settings.MaxConcurrentExecutions || s.Limit < 1 || s.Limit > s.Max || s.Drift != 1 || len(s.Holders) != 1 ||
		s.Holders[0].Execution != orphan || s.Holders[0].Status != string(cleanup.StatusUnknown) || s.Holders[0].AgeSeconds < 7000 {
		t.Fatalf("locks: %+v", s)
	}
	if at, err := time.Parse(time.RFC3339, s.Holders[0].AcquiredAt); err != nil || timestamp(at) != s.Holders[0].AcquiredAt ||
		time.Since(at) < 2*time.Hour-time.Minute {
		t.Errorf("acquired_at %q is not in the output's one time format", s.Holders[0].AcquiredAt)
	}

	var r reconcileReport
	runJSON(t, ExitOK, &r, "reconcile")
	if r.Applied || r.Drift != 1 || len(r.Release) != 1 || r.Release[0].Execution != orphan || r.Sweep != nil {
		t.Fatalf("dry run: %+v", r)
	}
	runJSON(t, ExitOK, &s, "locks")
	if s.Count != 2 || len(s.Holders) != 1 {
		t.Fatalf("the dry run changed the semaphore: %+v", s)
	}

	runJSON(t, ExitOK, &r, "reconcile", "--apply")
	if !r.Applied || r.Sweep == nil || r.Sweep.Released != 1 || r.Sweep.Drift != 1 {
		t.Fatalf("apply: %+v", r)
	}
	runJSON(t, ExitOK, &s, "locks")
	if s.Count != 0 || len(s.Holders) != 0 || s.Drift != 0 {
		t.Fatalf("after apply: %+v", s)
	}
	if out := runText(t, "reconcile"); out != "nothing to reconcile\n" {
		t.Fatalf("clean semaphore:\n%s", out)
	}
}

// addOrphan adds a holder acquired at and two to the count: its slot and a leaked one.
func addOrphan(t *testing.T, st *localrun.Stack, holderName string, at time.Time) {
	t.Helper()
	_, err := dynamodb.NewFromConfig(st.Config).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.Names.SemaphoreTable),
		Key:                      map[string]types.AttributeValue{contract.SemaphoreKey: &types.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:         aws.String("SET #c = #c + :two, #h = :at"),
		ExpressionAttributeNames: map[string]string{"#c": contract.SemaphoreCount, "#h": semaphore.HolderAttribute(holderName)},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":two": &types.AttributeValueMemberN{Value: "2"},
			":at":  &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}
