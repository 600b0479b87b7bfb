package localrun

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// TestStatusEventsReleaseAbortedHolder: an execution aborted while it held a slot
// gets its slot back through the delivered status-change event, once.
func TestStatusEventsReleaseAbortedHolder(t *testing.T) {
	ctx := context.Background()
	cloud := localcloud.Own(t, localcloud.Options{})
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.BronzeBucket, s.SilverBucket = "events-bronze", "events-silver"
	st, err := Deploy(ctx, cloud, contract.NamesFor("dev"), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(st.Config)
	const job, name = "4242", "job-4242-events"
	input, err := json.Marshal(contract.ExecutionInput{JobData: contract.JobRef{JobPostingID: job, PostingKey: contract.PostingKey(job)}, ExecutionID: name})
	if err != nil {
		t.Fatal(err)
	}
	started, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &st.Resources.StateMachineARN, Name: aws.String(name), Input: aws.String(string(input))})
	if err != nil {
		t.Fatal(err)
	}
	// The posting is missing, so pass1 waits between storage retries: stop it there
	// (moto fails StopExecution of an execution it has not begun to run).
	time.Sleep(3 * time.Second)
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: started.ExecutionArn}); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c, aws.ToString(started.ExecutionArn))
	// The slot the aborted execution held when it was stopped.
	db := dynamodb.NewFromConfig(st.Config)
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Names.SemaphoreTable),
		Key:                       map[string]dbtypes.AttributeValue{contract.SemaphoreKey: &dbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:          aws.String("SET #c = :one, #h = :now"),
		ExpressionAttributeNames:  map[string]string{"#c": contract.SemaphoreCount, "#h": semaphore.HolderAttribute(name)},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": &dbtypes.AttributeValueMemberN{Value: "1"}, ":now": &dbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339)}},
	}); err != nil {
		t.Fatal(err)
	}

	events := st.NewStatusEvents()
	for i, want := range []int{1, 0} { // the second poll has nothing new to deliver
		n, err := events.Poll(ctx)
		if err != nil || n != want {
			t.Fatalf("poll %d: delivered %d (%v), want %d", i+1, n, err, want)
		}
	}
	slots, err := semaphore.New(db, st.Names.SemaphoreTable).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slots.Count != 0 || len(slots.Holders) != 0 {
		t.Fatalf("semaphore count %d, holders %v; want 0 and none", slots.Count, slots.Holders)
	}
}

// waitEnded waits until the execution ended in a status the EventBridge rule forwards.
func waitEnded(t *testing.T, c *sfn.Client, arn string) {
	t.Helper()
	for range 300 {
		d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		switch d.Status {
		case sfntypes.ExecutionStatusRunning:
			time.Sleep(100 * time.Millisecond)
			continue
		case sfntypes.ExecutionStatusAborted, sfntypes.ExecutionStatusFailed:
			return
		}
		t.Fatalf("execution %s ended %s", arn, d.Status)
	}
	t.Fatalf("execution %s still running", arn)
}
