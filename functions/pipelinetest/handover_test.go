package pipelinetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// TestReleaseHandsSlotToWaiter: an execution that releases its slot wakes the first
// live waiter, which takes the slot at once instead of sleeping out its jittered wait;
// tokens left by waits that already ended are skipped. The copy of the definition waits
// 30-91 s per try, so only the handover can end B's wait promptly: B's wait must end by
// its token, never by its timeout.
func TestReleaseHandsSlotToWaiter(t *testing.T) {
	for i, stale := range []int{0, 3} {
		t.Run(fmt.Sprintf("%d stale tokens first", stale), func(t *testing.T) {
			c := cloud(t)
			c.Bedrock().SetFaults(bedrockemu.Faults{Latency: time.Second}) // A holds its slot while B starts waiting
			s := env.settings
			s.SlotWait, s.SlotWaitAttempts = time.Minute, 2
			arn := machineWith(t, s, fmt.Sprintf("-handover%d", i))
			setSemaphoreCount(t, s.MaxConcurrentExecutions-1) // one slot left
			t.Cleanup(func() { setSemaphoreCount(t, 0) })
			for j := range stale {
				addWaiterToken(t, fmt.Sprintf("ended-wait-%d", j))
			}

			a := startOn(t, arn, putPosting(t, fmt.Sprintf("95%d001", i), 400), "a1", false)
			waitUntilEntered(t, a, workflow.StateStartAttempt)
			b := startOn(t, arn, putPosting(t, fmt.Sprintf("95%d002", i), 400), "a1", false)
			waitUntilEntered(t, b, workflow.StateWaitForSlot)

			ea, eb := finish(t, a), finish(t, b)
			requireStatus(t, ea, succeeded, workflow.StateEnriched)
			requireStatus(t, eb, succeeded, workflow.StateEnriched)
			if n := ea.visited(workflow.WakeWaiter(workflow.StateReleaseSlot)); n != stale+1 {
				t.Errorf("A tried %d wakes on release, want %d: %v", n, stale+1, ea.entered())
			}
			if n := eb.visited(workflow.StateWaitForSlot); n != 1 {
				t.Errorf("B waited %d times, want once: %v", n, eb.entered())
			}
			for _, ev := range eb.Events {
				if ev.Type == sfntypes.HistoryEventTypeTaskTimedOut {
					t.Errorf("B's wait ended by its timeout, not by the handover: %v", eb.entered())
				}
			}
		})
	}
}

// addWaiterToken appends token to the semaphore's waiter list, as a wait that has
// ended since leaves it behind.
func addWaiterToken(t *testing.T, token string) {
	t.Helper()
	_, err := env.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                aws.String(env.names.SemaphoreTable),
		Key:                      map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:         aws.String("SET #w = list_append(if_not_exists(#w, :none), :me)"),
		ExpressionAttributeNames: map[string]string{"#w": contract.SemaphoreWaiters},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":none": &ddbtypes.AttributeValueMemberL{},
			":me":   &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: token}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitUntilEntered polls the running execution's history until it entered state.
func waitUntilEntered(t *testing.T, arn, state string) {
	t.Helper()
	for range 300 {
		if sofar(t, arn).visited(state) > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never entered %s", arn, state)
}

// machineWith creates a copy of the stack's state machine built from settings s, with
// the same role, and returns its ARN.
func machineWith(t *testing.T, s stacks.Settings, suffix string) string {
	t.Helper()
	m, err := workflow.Pipeline(env.names, s, localcloud.Account)
	if err != nil {
		t.Fatal(err)
	}
	def, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.sfn.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(env.names.StateMachine + suffix), Definition: aws.String(string(def)),
		RoleArn: aws.String(localcloud.Account.RoleARN(env.names.StateMachineRole)), // same tasks, same role
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.StateMachineArn)
}
