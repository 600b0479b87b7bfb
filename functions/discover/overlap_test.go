package discover

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// gate holds every status write of one run until it is opened, and says when the
// run reached its first one: the run has read the statuses it will decide on.
type gate struct {
	reached, open chan struct{}
	once          sync.Once
}

func newGate() *gate { return &gate{reached: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) hold(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("gate", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if _, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
			g.once.Do(func() { close(g.reached) })
			<-g.open
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

// sent is one message on the queue: its body, group and deduplication id.
type sent struct {
	msg          contract.QueueMessage
	group, dedup string
}

// drainSent receives and deletes every message on the queue.
func (e *env) drainSent(t testing.TB) []sent {
	t.Helper()
	ctx := context.Background()
	var out []sent
	for {
		r, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(e.res.QueueURL), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var qm contract.QueueMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &qm); err != nil {
				t.Fatal(err)
			}
			out = append(out, sent{msg: qm, group: m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)], dedup: m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageDeduplicationId)]})
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.res.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// failAttempt runs the state machine's transitions of an execution of the job's
// current publication that claims it, counts its attempt and fails.
func (e *env) failAttempt(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	j, err := e.h.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	exec := status.S(contract.PublicationName(id, j.Publication))
	now := status.S(status.Timestamp(e.h.now()))
	max := status.N(e.h.opts.MaxAttempts)
	steps := []struct {
		t    status.Transition
		args map[string]ddbtypes.AttributeValue
	}{
		{status.Claim, map[string]ddbtypes.AttributeValue{":exec": exec, ":now": now, ":pub": status.N(j.Publication), ":force": &ddbtypes.AttributeValueMemberBOOL{Value: false}, ":max": max}},
		{status.Count, map[string]ddbtypes.AttributeValue{":exec": exec, ":now": now, ":attempt": status.N(j.Attempts + 1)}},
		{status.Fail, map[string]ddbtypes.AttributeValue{":exec": exec, ":now": now, ":max": max, ":err": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			contract.AttrErrorStep: status.S("pass1"), contract.AttrErrorDetail: status.S(`{"Error":"test"}`),
		}}}},
	}
	for _, s := range steps {
		if _, err := e.h.store.Apply(ctx, s.t, id, s.args); err != nil {
			t.Fatalf("%s of job %s: %v", s.t.Name, id, err)
		}
	}
}

// L3: two discovery runs at once over the same jobs, a backfill of a partition beside
// the hourly run retrying its FAILED jobs. The backfill reads the statuses, then the
// hourly run publishes every job and half of them fail again before the backfill
// marks. Each publication must go out exactly once, under the deduplication id and
// execution name of the publication its own mark wrote: a name derived from what the
// backfill read would repeat the hourly run's, and SQS would drop the message as a
// duplicate, leaving the job QUEUED with no message.
func TestOverlappingRunsPublishEachPublicationOnce(t *testing.T) {
	e := newEnv(t, "overlap", 10, 100)
	p := sample.Partitions(day, 1)
	e.write(t, p, 6, 41)
	jobs := ids(p[0], 6, 41)
	if res := e.run(t, Event{}); res.Published != 6 {
		t.Fatalf("first run %+v", res)
	}
	e.drainSent(t)
	for _, id := range jobs {
		e.failAttempt(t, id)
	}

	g := newGate()
	backfill := *e.h
	backfill.store = status.New(dynamodb.NewFromConfig(e.cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, g.hold) }), e.h.opts.StatusTable)
	done := make(chan Result)
	go func() {
		res, err := backfill.Handle(context.Background(), Event{Partitions: []string{p[0].String()}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.reached // the backfill read every job FAILED at publication 1
	if res := e.run(t, Event{}); res.Retried != 6 {
		t.Fatalf("hourly run %+v: want the 6 FAILED jobs retried", res)
	}
	for _, id := range jobs[:3] {
		e.failAttempt(t, id)
	}
	close(g.open)
	if res := <-done; res.Published != 3 || res.SkippedInFlight != 3 {
		t.Fatalf("backfill %+v: want the 3 jobs failed again published, the 3 queued skipped", res)
	}

	byName := map[string]sent{}
	dedups := map[string]string{}
	for _, s := range e.drainSent(t) {
		id, name := s.msg.Job.JobPostingID, contract.PublicationName(s.msg.Job.JobPostingID, s.msg.Publication)
		if prev, ok := byName[name]; ok {
			t.Errorf("publication %d of job %s sent twice: %+v and %+v", s.msg.Publication, id, prev, s)
		}
		if other, ok := dedups[s.dedup]; ok {
			t.Errorf("deduplication id %s used by %s and %s", s.dedup, other, name)
		}
		byName[name], dedups[s.dedup] = s, name
	}
	for i, id := range jobs {
		j, err := e.h.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if i < 3 {
			want = 3
		}
		if j.Overall != contract.StatusQueued || j.Publication != want {
			t.Errorf("job %s: %s at publication %d, want QUEUED at %d", id, j.Overall, j.Publication, want)
		}
		for pub := 2; pub <= j.Publication; pub++ {
			if _, ok := byName[contract.PublicationName(id, pub)]; !ok {
				t.Errorf("job %s: publication %d has no message (the mark wrote %d)", id, pub, j.Publication)
			}
		}
	}
	if len(byName) != 9 {
		t.Errorf("%d messages, want 9 (6 of the hourly run, 3 of the backfill)", len(byName))
	}
}
