package localcloud_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
)

// TestLostAnswerAfterCommit: the write of a request whose answer is lost is applied,
// its caller sees a 500, and the caller's retry meets its own write.
func TestLostAnswerAfterCommit(t *testing.T) {
	ctx := context.Background()
	cloud := localcloud.Shared(t)
	fault := cloud.LoseAnswers(localcloud.LostAnswer{
		Target: "DynamoDB_20120810.UpdateItem", Table: names.StatusTable, Contains: "lostack = :v", Limit: 1,
	})
	defer fault.Stop()
	var mu sync.Mutex
	var seen []localcloud.Answer
	cloud.ObserveAnswers("DynamoDB_20120810.UpdateItem", func(a localcloud.Answer) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
	})
	db := dynamodb.NewFromConfig(config(t), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	key := map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: "lost-answer"}}
	update := func(expr string) error {
		k := key
		if expr != "lostack = :v" { // another item, no condition conflict
			k = map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: "lost-answer-other"}}
		}
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(names.StatusTable), Key: k,
			UpdateExpression: aws.String("SET " + expr), ConditionExpression: aws.String("attribute_not_exists(lostack)"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "first"}},
		})
		return err
	}
	var apiErr smithy.APIError
	if err := update("lostack = :v"); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalServerError" {
		t.Fatalf("first write: %v, want a 500 InternalServerError", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.StatusTable), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.Item["lostack"].(*ddbtypes.AttributeValueMemberS); !ok || v.Value != "first" {
		t.Fatalf("item after the lost answer: %v, want the write applied", out.Item)
	}
	if _, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](update("lostack = :v")); !ok {
		t.Fatal("the retry of the committed write: want ConditionalCheckFailedException")
	}
	if n := fault.Lost(); n != 1 {
		t.Fatalf("%d answers lost, want 1 (Limit)", n)
	}
	// Other writes to the table are answered normally.
	if err := update("lostother = :v"); err != nil {
		t.Fatalf("an unmatched write: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || !seen[0].Lost || seen[0].ErrorType != "InternalServerError" || seen[1].Lost || seen[1].ErrorType != "ConditionalCheckFailedException" || seen[2].Status != 200 {
		t.Fatalf("observed answers %+v", seen)
	}
}
