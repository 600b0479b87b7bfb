package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

// waitMachine stands in for the pipeline: its executions stay RUNNING until stopped,
// like executions waiting for or holding a slot.
const waitMachine = `{"StartAt":"Hold","States":{"Hold":{"Type":"Wait","Seconds":3600,"End":true}}}`

var stackSeq atomic.Int32

// fixture is one freshly provisioned stack of the local cloud.
type fixture struct {
	cloud *localcloud.Cloud
	res   localcloud.Resources
	names contract.Names
	sfn   *sfn.Client
	sqs   *sqs.Client
	db    *dynamodb.Client
	sem   *semaphore.Semaphore
	h     *Handler
	opts  Options
	emf   *bytes.Buffer // the handler's EMF lines
}

func newFixture(t testing.TB, definition string, maxSlots, buffer int) *fixture {
	t.Helper()
	ctx := t.Context()
	c := localcloud.Shared(t)
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stack := fmt.Sprintf("inv%d", stackSeq.Add(1))
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.MaxConcurrentExecutions, s.AdmissionBuffer = maxSlots, buffer
	s.BronzeBucket, s.SilverBucket = stack+"-bronze", stack+"-silver"
	names := contract.NamesFor(stack)
	res, err := localcloud.Provision(ctx, cfg, names, s, definition)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cloud: c, res: res, names: names, sfn: sfn.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), db: dynamodb.NewFromConfig(cfg)}
	f.sem = semaphore.New(f.db, names.SemaphoreTable)
	// A short visibility timeout so failed messages come back within the test.
	if _, err := f.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl:   aws.String(res.QueueURL),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): "1"},
	}); err != nil {
		t.Fatal(err)
	}
	f.emf = &bytes.Buffer{}
	f.opts = Options{StateMachineARN: res.StateMachineARN, QueueURL: res.QueueURL, SemaphoreTable: names.SemaphoreTable,
		StatusTable: names.StatusTable, MessageGroups: s.MessageGroups, MaxConcurrent: maxSlots, ConcurrencyInitial: s.InitialLimit(), AdmissionBuffer: buffer, DeferDelay: time.Second, Stack: stack}
	if f.h, err = New(ctx, cfg, f.opts, slog.New(slog.DiscardHandler), metrics.New(f.emf, contract.MetricsNamespace)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.stopAll(context.WithoutCancel(ctx)) })
	return f
}

// publish sends a job message as discovery does; body overrides the JSON when set.
func (f *fixture) publish(t *testing.T, jobID, group, body string) {
	t.Helper()
	if body == "" {
		b, _ := json.Marshal(contract.QueueMessage{Job: contract.JobRef{JobPostingID: jobID, PostingKey: contract.PostingKey(jobID)}})
		body = string(b)
	}
	if _, err := f.sqs.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl:               aws.String(f.res.QueueURL),
		MessageBody:            aws.String(body),
		MessageGroupId:         aws.String(group),
		MessageDeduplicationId: aws.String(contract.DedupID(jobID, "year=2026/month=01/day=01/hour=00")),
	}); err != nil {
		t.Fatal(err)
	}
}

// receive takes one batch off the queue as the event source mapping would.
func (f *fixture) receive(t *testing.T) events.SQSEvent {
	t.Helper()
	out, err := f.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(f.res.QueueURL),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             1,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes,
		})
	}
	return ev
}

// executions lists the executions of the machine by status ("" for all).
func (f *fixture) executions(t *testing.T, status sfntypes.ExecutionStatus) []sfntypes.ExecutionListItem {
	t.Helper()
	var all []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(f.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(f.res.StateMachineARN), StatusFilter: status})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Executions...)
	}
	return all
}

func (f *fixture) stopAll(ctx context.Context) {
	out, err := f.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(f.res.StateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil {
		return
	}
	for _, e := range out.Executions {
		_, _ = f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: e.ExecutionArn})
	}
}

// queueDepth is visible plus in-flight messages of a queue.
func (f *fixture) queueDepth(t *testing.T, url string) int {
	t.Helper()
	out, err := f.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		v, _ := strconv.Atoi(out.Attributes[string(k)])
		n += v
	}
	return n
}

// acquire takes a slot for execution the way the state machine does.
func (f *fixture) acquire(t *testing.T, execution string, maxSlots int) bool {
	t.Helper()
	_, err := f.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(f.names.SemaphoreTable),
		Key:                       map[string]dbtypes.AttributeValue{contract.SemaphoreKey: &dbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:          aws.String("SET #c = #c + :one, #h = :now"),
		ConditionExpression:       aws.String("#c < :max AND attribute_not_exists(#h)"),
		ExpressionAttributeNames:  map[string]string{"#c": contract.SemaphoreCount, "#h": semaphore.HolderAttribute(execution)},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":one": &dbtypes.AttributeValueMemberN{Value: "1"}, ":max": &dbtypes.AttributeValueMemberN{Value: strconv.Itoa(maxSlots)}, ":now": &dbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339)}},
	})
	var ccf *dbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		t.Fatal(err)
	}
	return err == nil
}

func TestSameMessageTwiceStartsOneExecution(t *testing.T) {
	f := newFixture(t, waitMachine, 5, 2)
	f.publish(t, "1001", "g00", "")
	ev := f.receive(t)
	if len(ev.Records) != 1 {
		t.Fatalf("received %d messages, want 1", len(ev.Records))
	}
	for i := range 2 { // a redelivery carries the same message and dedup id
		resp, err := f.h.Handle(t.Context(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: failures %v, err %v", i+1, resp.BatchItemFailures, err)
		}
	}
	// A deferred copy sent again keeps the origin's execution name.
	copied := ev.Records[0]
	copied.MessageId = "another-message-id"
	copied.Attributes = map[string]string{"MessageGroupId": "g00", "MessageDeduplicationId": "deferred-x"}
	origin := ev.Records[0].Attributes["MessageDeduplicationId"]
	copied.MessageAttributes = map[string]events.SQSMessageAttribute{AttrOriginDedupID: {StringValue: &origin, DataType: "String"}}
	if resp, err := f.h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{copied}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("copy: failures %v, err %v", resp.BatchItemFailures, err)
	}
	execs := f.executions(t, "")
	if len(execs) != 1 {
		t.Fatalf("%d executions, want 1", len(execs))
	}
	d, err := f.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: execs[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var in contract.ExecutionInput
	if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil {
		t.Fatal(err)
	}
	if in.JobData.JobPostingID != "1001" || in.ExecutionID != aws.ToString(execs[0].Name) || in.JobData.PostingKey != contract.PostingKey("1001") {
		t.Fatalf("execution input %+v (name %s)", in, aws.ToString(execs[0].Name))
	}
}

// A redeploy that changes maxConcurrentExecutions reaches the semaphore item at the
// next batch: in AWS nothing else rewrites the item's maximum after its creation.
func TestBatchAppliesTheDeployedMaximum(t *testing.T) {
	f := newFixture(t, waitMachine, 2, 0)
	if err := f.sem.Configure(t.Context(), semaphore.Config{Max: 5, Initial: f.h.opts.ConcurrencyInitial}); err != nil { // the maximum of the previous deploy
		t.Fatal(err)
	}
	if _, err := f.h.Handle(t.Context(), events.SQSEvent{}); err != nil {
		t.Fatal(err)
	}
	st, err := f.sem.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Max != 2 {
		t.Fatalf("semaphore maximum %d after a batch, want the deployed 2", st.Max)
	}
}

// jobsStarted maps each job to its executions' names.
func (f *fixture) jobsStarted(t *testing.T) map[string][]string {
	t.Helper()
	jobs := map[string][]string{}
	for _, e := range f.executions(t, "") {
		name := aws.ToString(e.Name)
		id, _, _ := strings.Cut(strings.TrimPrefix(name, "job-"), "-")
		jobs[id] = append(jobs[id], name)
	}
	return jobs
}

// watch wraps the handler for the event source mapping and remembers what it saw.
type watch struct {
	h          *Handler
	maxRecv    atomic.Int32
	resentSeen atomic.Bool
	failures   atomic.Int32
}

func (w *watch) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	for _, r := range ev.Records {
		w.maxRecv.Store(max(w.maxRecv.Load(), int32(receiveCount(r))))
		if _, ok := r.MessageAttributes[AttrOriginDedupID]; ok {
			w.resentSeen.Store(true)
		}
	}
	resp, err := w.h.Handle(ctx, ev)
	w.failures.Add(int32(len(resp.BatchItemFailures)))
	return resp, err
}

// eventually polls cond until it holds; the bound only turns a hang into a failure.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// TestAdmissionDefersWithoutDeadLettering queues more jobs than slots. The test plays
// the state machine: running executions take free slots, and finished ones give them
// back. Capacity is first held full long enough for deferred messages to reach the
// queue's maxReceiveCount; none may reach the DLQ, never more than max+buffer
// executions run, and every job ends up started exactly once.
func TestAdmissionDefersWithoutDeadLettering(t *testing.T) {
	const maxSlots, buffer, jobs = 2, 1, 8
	f := newFixture(t, waitMachine, maxSlots, buffer)
	for i := range jobs {
		id := strconv.Itoa(2001 + i)
		f.publish(t, id, contract.MessageGroupID(id, 3), "")
	}
	w := &watch{h: f.h}
	m, err := f.cloud.StartSQSMapping(t.Context(), localcloud.MappingConfig{QueueURL: f.res.QueueURL, BatchSize: 3, MaxConcurrency: 1, Handler: w.handle})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()

	step := func() []sfntypes.ExecutionListItem {
		running := f.executions(t, sfntypes.ExecutionStatusRunning)
		if len(running) > maxSlots+buffer {
			t.Fatalf("%d executions running, admission allows %d", len(running), maxSlots+buffer)
		}
		for _, e := range running {
			f.acquire(t, aws.ToString(e.Name), maxSlots)
		}
		return running
	}
	// Phase 1: nothing finishes, so the rest of the queue keeps being deferred until a
	// deferred message has been sent again with a fresh receive count.
	eventually(t, "a deferred message re-sent near maxReceiveCount", func() bool { step(); return w.resentSeen.Load() })
	if w.maxRecv.Load() < int32(f.h.maxReceive-1) {
		t.Fatalf("max receive count seen %d, want >= %d", w.maxRecv.Load(), f.h.maxReceive-1)
	}
	// Phase 2: executions holding a slot finish one by one.
	eventually(t, "every job started", func() bool {
		step()
		if st, err := f.sem.Read(t.Context()); err == nil && len(st.Holders) > 0 {
			done := st.Holders[0].Execution
			arn := strings.Replace(f.res.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + done
			if _, err := f.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.sem.Release(t.Context(), done); err != nil {
				t.Fatal(err)
			}
		}
		return len(f.jobsStarted(t)) == jobs && f.queueDepth(t, f.res.QueueURL) == 0
	})
	for id, names := range f.jobsStarted(t) {
		if len(names) != 1 {
			t.Errorf("job %s started %d times: %v", id, len(names), names)
		}
	}
	if n := f.queueDepth(t, f.res.DLQURL); n != 0 {
		t.Fatalf("%d messages in the DLQ, want none", n)
	}
	if w.failures.Load() == 0 {
		t.Fatal("no message was ever deferred: the test did not exercise admission control")
	}
	m.Stop()
	if want := fmt.Sprintf(`"SlotsInUse":%d`, maxSlots); !strings.Contains(f.emf.String(), want) {
		t.Fatalf("no %s EMF line for the full semaphore:\n%.2000s", want, f.emf.String())
	}
}

// TestPoisonMessageReachesDLQAndKeepsGroupOrder: a malformed message goes to the DLQ at
// once and is acknowledged, so its group is not blocked for maxReceiveCount receives
// (T5): every valid job of the batch starts, in order, and only the poison messages
// reach the DLQ, with their reason.
func TestPoisonMessageReachesDLQAndKeepsGroupOrder(t *testing.T) {
	f := newFixture(t, waitMachine, 5, 2)
	f.publish(t, "9", "gA", `{"job":`)
	f.publish(t, "3001", "gA", "")
	f.publish(t, "3002", "gB", "")
	f.publish(t, "3003", "gA", `{"job":{"job_posting_id":"3003; DROP"}}`)
	ev := f.receive(t)
	if len(ev.Records) != 4 {
		t.Fatalf("received %d messages, want 4", len(ev.Records))
	}
	resp, err := f.h.Handle(t.Context(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v, err %v: poison messages must be moved, not reported", resp.BatchItemFailures, err)
	}
	if got := f.jobsStarted(t); len(got) != 2 || len(got["3001"]) != 1 || len(got["3002"]) != 1 {
		t.Fatalf("started %v, want 3001 and 3002 once each", got)
	}
	out, err := f.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.res.DLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 2 {
		t.Fatalf("%d DLQ messages, want the 2 poison ones", len(out.Messages))
	}
	for _, msg := range out.Messages {
		if b := aws.ToString(msg.Body); b != `{"job":` && !strings.Contains(b, "DROP") {
			t.Errorf("unexpected DLQ message %s", b)
		}
		if r := msg.MessageAttributes["PoisonReason"].StringValue; r == nil || *r == "" {
			t.Errorf("DLQ message %s carries no reason", aws.ToString(msg.Body))
		}
	}
}

// BenchmarkHandleBatch measures one full batch of 10 new jobs in the local cloud:
// admission reads, 10 StartExecution calls and the response.
func BenchmarkHandleBatch(b *testing.B) {
	f := newFixture(b, `{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`, 1_000_000, 0)
	n := 0
	for b.Loop() {
		var ev events.SQSEvent
		for range 10 {
			n++
			id := strconv.Itoa(n)
			body, _ := json.Marshal(contract.QueueMessage{Job: contract.JobRef{JobPostingID: id}})
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + id, Body: string(body),
				Attributes: map[string]string{"MessageGroupId": contract.MessageGroupID(id, 16), "MessageDeduplicationId": "d" + id}})
		}
		resp, err := f.h.Handle(b.Context(), ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			b.Fatalf("failures %v, err %v", resp.BatchItemFailures, err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "jobs/s")
}

// failMachine stands in for a pipeline whose executions end before their claim (an
// execution aborted or failing at ClaimJob).
const failMachine = `{"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"ClaimFailed","Cause":"test"}}}`

// L1, L7: a redelivered message whose execution ended before claiming its QUEUED job
// is not acknowledged as success: the job is requeued under a new publication.
func TestExistingExecutionEndedBeforeClaimRequeues(t *testing.T) {
	f := newFixture(t, failMachine, 5, 2)
	store := status.New(f.db, f.names.StatusTable)
	row, err := store.Apply(t.Context(), status.Queue, "1101", map[string]dbtypes.AttributeValue{
		":now": status.S(status.Timestamp(time.Now())), ":partition": status.S("year=2026/month=01/day=01/hour=00"),
		":token": status.S("t1"), ":max": status.N(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(contract.QueueMessage{Job: contract.JobRef{JobPostingID: "1101", PostingKey: contract.PostingKey("1101")}, Publication: row.Publication, Deferred: "SlotUnavailable"})
	f.publish(t, "1101", "g00", string(b))
	ev := f.receive(t)
	if resp, err := f.h.Handle(t.Context(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first delivery: %v %v", resp.BatchItemFailures, err)
	}
	if !strings.Contains(f.emf.String(), `"AttemptsDeferred":1`) {
		t.Errorf("a deferred message's first receipt is not counted:\n%s", f.emf.String())
	}
	eventually(t, "the execution ends", func() bool { return len(f.executions(t, sfntypes.ExecutionStatusFailed)) == 1 })
	// The same message again (its acknowledgement was lost): the execution exists, closed.
	if resp, err := f.h.Handle(t.Context(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", resp.BatchItemFailures, err)
	}
	j, err := store.Get(t.Context(), "1101")
	if err != nil {
		t.Fatal(err)
	}
	if j.Overall != contract.StatusQueued || j.Publication != row.Publication+1 {
		t.Fatalf("job %+v: want QUEUED at publication %d", j, row.Publication+1)
	}
	// The original message is still on the queue (the test never deletes it).
	found := 0
	for _, r := range f.receive(t).Records {
		if strings.Contains(r.Body, fmt.Sprintf(`"publication":%d`, row.Publication+1)) {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("%d messages of publication %d after the redelivery, want 1", found, row.Publication+1)
	}
}
