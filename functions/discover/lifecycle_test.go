package discover

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
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
	// The row says its message went out, so the reaper does not take it for a job
	// marked by a discovery that died before publishing.
	row, err := e.h.store.Get(t.Context(), "201")
	if err != nil || !row.SentKnown || row.Sent != b.Publication {
		t.Errorf("row after publishing %d: sent %d (recorded %v), %v", b.Publication, row.Sent, row.SentKnown, err)
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

// deny makes GetObject of key fail as an object KMS denies does: not retryable.
func deny(key string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("deny", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if g, ok := in.Parameters.(*s3.GetObjectInput); ok && aws.ToString(g.Key) == key {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "AccessDenied", Message: "test"}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}
}

// T2: one unreadable Silver object is skipped and counted, never fatal to the run;
// its partition keeps the cursor, newer partitions are published; the run's metrics
// say what happened.
func TestUnreadableObjectIsSkippedAndCounted(t *testing.T) {
	e := newEnv(t, "unreadable", 10, 100)
	p := sample.Partitions(day, 2)
	keys, err := sample.WritePartitions(context.Background(), e.s3, e.res.SilverBucket, "linkedin/", p, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	var emf bytes.Buffer
	e.h.metrics = metrics.New(&emf, contract.MetricsNamespace)
	e.h.silver = silver.NewBucket(s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, deny(keys[0])) }), e.res.SilverBucket)
	res, err := e.h.Handle(context.Background(), Event{})
	if err != nil {
		t.Fatalf("one unreadable object failed the run: %v", err)
	}
	if len(res.UnreadableFiles) != 1 || res.Published != 3 || res.Cursor != "" {
		t.Fatalf("result %+v: want the other partition's 3 jobs published and the cursor kept", res)
	}
	for _, want := range []string{`"UnreadableSilverObjects":1`, `"JobsPublished":3`, `"DiscoveryPublishFailures":0`} {
		if !strings.Contains(emf.String(), want) {
			t.Errorf("EMF %s lacks %s", emf.String(), want)
		}
	}
}

// L10: Silver that lands behind the cursor within the look-back is discovered once: a
// file added to an hour the cursor passed, and a whole hour written late.
func TestLateSilverBehindTheCursorIsDiscovered(t *testing.T) {
	e := newEnv(t, "late", 10, 100)
	e.h.opts.LateLookback = 6 * time.Hour
	ps := sample.Partitions(day.Add(5*time.Hour), 3) // hours 3, 4, 5
	e.write(t, ps[1:], 2, 21)
	if res := e.run(t, Event{}); res.Published != 4 || res.Cursor != ps[2].String() {
		t.Fatalf("first run %+v", res)
	}
	e.drain(t)
	ctx := context.Background()
	// A late file in hour 4, and hour 3 written after hour 5.
	lateFile := sample.NewGenerator(22).Rows(ps[1], 2)
	if err := sample.PutFile(ctx, e.s3, e.res.SilverBucket, sample.FileKey("linkedin/", ps[1], 1), lateFile); err != nil {
		t.Fatal(err)
	}
	e.write(t, ps[:1], 2, 23)
	res := e.run(t, Event{})
	msgs, _ := e.drain(t)
	if res.LateFiles != 2 || res.Published != 4 || len(msgs) != 4 {
		t.Fatalf("second run %+v, %d messages: want the 4 late jobs", res, len(msgs))
	}
	if again := e.run(t, Event{}); again.LateFiles != 0 || again.Published != 0 {
		t.Fatalf("third run %+v: late files read twice", again)
	}
}

// T1: retries of FAILED jobs are paced by capacity, not a fixed number per run: an
// empty queue is topped up to RetryBacklogPerSlot messages per slot, a full one gets
// only the per-run minimum.
func TestFailedRetriesArePacedByCapacity(t *testing.T) {
	e := newEnv(t, "pacing", 10, 5)
	e.h.opts.MaxConcurrent = 2 // a backlog of 20
	for i := range 30 {
		e.setStatus(t, fmt.Sprint(3000+i), contract.StatusFailed, 1)
	}
	if res := e.run(t, Event{}); res.Retried != 20 {
		t.Fatalf("first run retried %d, want 20 (the backlog of 2 slots)", res.Retried)
	}
	if res := e.run(t, Event{}); res.Retried != 5 {
		t.Fatalf("second run, queue full, retried %d, want the per-run minimum 5", res.Retried)
	}
	e.drain(t)
	if res := e.run(t, Event{}); res.Retried != 5 {
		t.Fatalf("third run retried %d, want the 5 left", res.Retried)
	}
}

// T3: a run near its deadline stops taking partitions, keeps the cursor before them
// and says so, instead of being killed between a mark and its publish.
func TestDiscoveryStopsWithinItsDeadline(t *testing.T) {
	e := newEnv(t, "deadline", 10, 100)
	e.write(t, sample.Partitions(day, 2), 2, 31)
	ctx, cancel := context.WithTimeout(context.Background(), timeReserve/2)
	defer cancel()
	res, err := e.h.Handle(ctx, Event{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OutOfTime || res.Published != 0 || res.Cursor != "" {
		t.Fatalf("result %+v: want out of time, nothing published, the cursor kept", res)
	}
	if again := e.run(t, Event{}); again.Published != 4 {
		t.Fatalf("the next run published %d, want the 4 jobs", again.Published)
	}
}
