package discover

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// failAgainUncounted puts a job back to FAILED the way an execution that ended before
// counting its attempt does (NoSlot, StartFailed): attempts unchanged.
func (e *env) failAgainUncounted(t *testing.T, id string) {
	t.Helper()
	_, err := e.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(e.h.opts.StatusTable),
		Key:                       map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #st = :failed"),
		ExpressionAttributeNames:  map[string]string{"#st": contract.AttrOverallStatus},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":failed": &ddbtypes.AttributeValueMemberS{Value: contract.StatusFailed}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// L1, L3: a job that fails before its attempt is counted is published again under a
// new publication: a new deduplication id (the old one would be dropped by SQS within
// its 5-minute window) and a new execution name.
func TestUncountedFailureIsPublishedUnderANewName(t *testing.T) {
	e := newEnv(t, "newname", 10, 100)
	e.setStatus(t, "201", contract.StatusFailed, 1)
	if res := e.run(t, Event{}); res.Retried != 1 {
		t.Fatalf("first run %+v", res)
	}
	first, _ := e.drain(t)
	e.failAgainUncounted(t, "201")
	if res := e.run(t, Event{}); res.Retried != 1 {
		t.Fatalf("second run %+v", res)
	}
	second, _ := e.drain(t)
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("messages: first %+v, second %+v; want one each", first, second)
	}
	a, b := first[0], second[0]
	if a.Publication == 0 || b.Publication <= a.Publication {
		t.Errorf("publications %d then %d: want increasing", a.Publication, b.Publication)
	}
	if contract.PublicationName("201", a.Publication) == contract.PublicationName("201", b.Publication) {
		t.Error("both publications map to one execution name")
	}
}

// lostAck lets the first status write matching cond reach DynamoDB, then answers
// with a retryable error, as when the response of a committed write is lost.
type lostAck struct{ lost bool }

type retryableErr struct{}

func (retryableErr) Error() string        { return "connection reset after commit" }
func (retryableErr) RetryableError() bool { return true }

func (l *lostAck) finalize(st *middleware.Stack) error {
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("lostAck", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleDeserialize(ctx, in)
		if err == nil && !l.lost && middleware.GetOperationName(ctx) == "UpdateItem" {
			l.lost = true
			return out, md, retryableErr{}
		}
		return out, md, err
	}), middleware.Before)
}

// L4: a QUEUED mark whose acknowledgement is lost is retried by the SDK; the retry
// recognises its own mark and the job is published, not counted as raced.
func TestMarkWithLostAcknowledgementIsPublished(t *testing.T) {
	e := newEnv(t, "lostack", 10, 100)
	p := sample.Partitions(day, 1)
	e.write(t, p, 1, 3)
	l := &lostAck{}
	db := dynamodb.NewFromConfig(e.cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, l.finalize) })
	e.h.store = status.New(db, e.h.opts.StatusTable)
	res := e.run(t, Event{})
	if !l.lost {
		t.Fatal("no acknowledgement was lost")
	}
	msgs, _ := e.drain(t)
	if res.Published != 1 || res.SkippedInFlight != 0 || len(msgs) != 1 {
		t.Fatalf("result %+v, %d messages: the job is QUEUED without a message", res, len(msgs))
	}
}
