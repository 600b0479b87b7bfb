package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
)

// holdSlot writes what a committed acquire of execution leaves: its holder and one
// more in the count.
func holdSlot(t *testing.T, execution string) {
	t.Helper()
	_, err := env.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                aws.String(env.names.SemaphoreTable),
		Key:                      map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:         aws.String("SET #c = #c + :one, #h = :now"),
		ExpressionAttributeNames: map[string]string{"#c": contract.SemaphoreCount, "#h": semaphore.HolderAttribute(execution)},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":one": &ddbtypes.AttributeValueMemberN{Value: "1"},
			":now": &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRetriedAcquireFindsItsOwnSlot: a Step Functions retry of AcquireSlot after a
// committed first try (its answer lost) meets its own holder. It must go on with
// that slot, not wait for another until NoSlot (issue 11, L6).
func TestRetriedAcquireFindsItsOwnSlot(t *testing.T) {
	cloud(t)
	job := putPosting(t, "930001", 400)
	holdSlot(t, contract.ExecutionName(job.JobPostingID, "a1"))

	e := run(t, job, "a1", false)
	requireStatus(t, e, succeeded, workflow.StateEnriched)
	if e.visited(workflow.StateWaitForSlot) != 0 || e.visited(workflow.StateConfirmSlot) != 1 {
		t.Errorf("the execution waited for a slot it held: %v", e.entered())
	}
	requireCompleted(t, job.JobPostingID)
	requireSlotsFree(t) // the one slot counted, released once
}

// sofar is a running execution's history up to now.
func sofar(t *testing.T, arn string) execution {
	t.Helper()
	var e execution
	p := sfn.NewGetExecutionHistoryPaginator(env.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e.Events = append(e.Events, page.Events...)
	}
	return e
}

// TestLoweredMaximumReachesRunningExecutions: a deploy that lowers the maximum while
// an execution waits for a slot takes effect at its next try (AWS keeps a running
// execution on the definition it started with, so a limit in the definition would
// not). With the old maximum of 2 and one slot taken, the waiter would acquire.
func TestLoweredMaximumReachesRunningExecutions(t *testing.T) {
	cloud(t)
	ctx := context.Background()
	limit := env.settings.MaxConcurrentExecutions
	if limit < 2 {
		t.Fatalf("needs a maximum of at least 2, the test stack has %d", limit)
	}
	setSemaphoreCount(t, limit)
	t.Cleanup(func() {
		setSemaphoreCount(t, 0)
		if err := env.sem.Configure(ctx, semaphore.Config{Max: limit, Initial: env.settings.InitialLimit()}); err != nil {
			t.Error(err)
		}
	})
	job := putPosting(t, "940001", 400)
	arn := start(t, job, "a1", false)
	waitFor(t, func() bool { return sofar(t, arn).visited(workflow.StateWaitForSlot) > 0 })

	if err := env.sem.Configure(ctx, semaphore.Config{Max: 1, Initial: min(1, env.settings.InitialLimit())}); err != nil { // the redeploy
		t.Fatal(err)
	}
	setSemaphoreCount(t, 1) // one slot of the others frees: full under the new maximum only
	tries := sofar(t, arn).visited(workflow.StateAcquireSlot)
	waitFor(t, func() bool { return sofar(t, arn).visited(workflow.StateAcquireSlot) >= tries+2 })
	if got := sofar(t, arn); got.visited(workflow.StateStartAttempt) != 0 {
		t.Fatalf("the execution took a slot above the lowered maximum: %v", got.entered())
	}

	setSemaphoreCount(t, 0)
	e := finish(t, arn)
	requireStatus(t, e, succeeded, workflow.StateEnriched)
	requireSlotsFree(t)
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within a minute")
}
