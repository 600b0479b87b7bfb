package cleanup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/queue"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	jobstatus "github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

// modeMachine ends its executions as the input's mode says: fail, succeed, or hold
// (stay RUNNING until stopped).
const modeMachine = `{"StartAt":"Mode","States":{
 "Mode":{"Type":"Choice","Choices":[
  {"Variable":"$.mode","StringEquals":"fail","Next":"Boom"},
  {"Variable":"$.mode","StringEquals":"succeed","Next":"Done"}],"Default":"Hold"},
 "Hold":{"Type":"Wait","Seconds":3600,"End":true},
 "Boom":{"Type":"Fail","Error":"ProcessingFailed","Cause":"test"},
 "Done":{"Type":"Succeed"}}}`

var stackSeq atomic.Int32

type fixture struct {
	names   contract.Names
	res     localcloud.Resources
	sfn     *sfn.Client
	db      *dynamodb.Client
	sem     *semaphore.Semaphore
	sqs     *sqs.Client
	h       *Handler
	metrics bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	cfg, err := localcloud.Shared(t).AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stack := fmt.Sprintf("cl%d", stackSeq.Add(1))
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.BronzeBucket, s.SilverBucket = stack+"-bronze", stack+"-silver"
	f := &fixture{names: contract.NamesFor(stack), sfn: sfn.NewFromConfig(cfg), db: dynamodb.NewFromConfig(cfg)}
	if f.res, err = localcloud.Provision(ctx, cfg, f.names, s, modeMachine); err != nil {
		t.Fatal(err)
	}
	f.sem = semaphore.New(f.db, f.names.SemaphoreTable)
	f.h = New(cfg, Options{StateMachineARN: f.res.StateMachineARN, SemaphoreTable: f.names.SemaphoreTable, StatusTable: f.names.StatusTable,
		LockTimeout: 30 * time.Minute, Stack: stack,
		QueueURL: f.res.QueueURL, MessageGroups: s.MessageGroups, MaxAttempts: 3}, slog.New(slog.DiscardHandler), metrics.New(&f.metrics, contract.MetricsNamespace))
	f.sqs = sqs.NewFromConfig(cfg)
	t.Cleanup(func() {
		out, err := f.sfn.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(f.res.StateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning})
		if err == nil {
			for _, e := range out.Executions {
				_, _ = f.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: e.ExecutionArn})
			}
		}
	})
	return f
}

func (f *fixture) arn(t *testing.T, name string) string {
	t.Helper()
	arn, err := ExecutionARN(f.res.StateMachineARN, name)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// run starts execution name for job in mode and waits for want (RUNNING, or the end
// state mode leads to). It returns the input.
func (f *fixture) run(t *testing.T, name, job, mode string, want sfntypes.ExecutionStatus) string {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"job_data": contract.JobRef{JobPostingID: job, PostingKey: contract.PostingKey(job)}, "execution_id": name, "mode": mode})
	if _, err := f.sfn.StartExecution(t.Context(), &sfn.StartExecutionInput{StateMachineArn: aws.String(f.res.StateMachineARN), Name: aws.String(name), Input: aws.String(string(in))}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		d, err := f.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(f.arn(t, name))})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == want {
			return string(in)
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s is %s, want %s", name, d.Status, want)
		}
	}
}

// seed writes the semaphore item: count and holders acquired at the given times.
func (f *fixture) seed(t *testing.T, count int, holders map[string]time.Time) {
	t.Helper()
	item := map[string]dbtypes.AttributeValue{
		contract.SemaphoreKey:   &dbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName},
		contract.SemaphoreCount: &dbtypes.AttributeValueMemberN{Value: strconv.Itoa(count)},
		contract.SemaphoreMax:   &dbtypes.AttributeValueMemberN{Value: "5"},
	}
	for name, at := range holders {
		item[semaphore.HolderAttribute(name)] = &dbtypes.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}
	}
	if _, err := f.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(f.names.SemaphoreTable), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// claim writes a status row of job claimed by execution after attempts attempts.
func (f *fixture) claim(t *testing.T, job, status, execution string, attempts int) {
	t.Helper()
	f.row(t, job, status, execution, attempts, 0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// row writes a status row with its publication and last transition time.
func (f *fixture) row(t *testing.T, job, status, execution string, attempts, publication int, updated time.Time) {
	t.Helper()
	s := func(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }
	item := map[string]dbtypes.AttributeValue{contract.StatusKey: s(job), contract.AttrOverallStatus: s(status), contract.AttrUpdatedAt: s(jobstatus.Timestamp(updated)),
		contract.AttrAttempts: &dbtypes.AttributeValueMemberN{Value: strconv.Itoa(attempts)}, contract.AttrPartition: s("year=2026/month=01/day=01/hour=00")}
	if publication > 0 {
		item[contract.AttrPublication] = &dbtypes.AttributeValueMemberN{Value: strconv.Itoa(publication)}
	}
	if execution != "" {
		item[contract.AttrExecution] = s(execution)
	}
	if _, err := f.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(f.names.StatusTable), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// status reads a job's row through the status package, as operators do.
func (f *fixture) status(t *testing.T, job string) jobstatus.Job {
	t.Helper()
	j, err := jobstatus.New(f.db, f.names.StatusTable).Get(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) event(t *testing.T, name, status, input string) json.RawMessage {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{
		"detail-type": "Step Functions Execution Status Change",
		"source":      "aws.states",
		"detail": map[string]any{"executionArn": f.arn(t, name), "stateMachineArn": f.res.StateMachineARN,
			"name": name, "status": status, "input": input},
	})
	return ev
}

// An ended execution's row is settled once, by the rule of status.go: PENDING (died
// waiting for a slot, L8) is requeued uncounted, IN_PROGRESS after the last attempt is
// given up (not left FAILED), a newer execution's claim is kept, and a SUCCEEDED
// execution's slot is released too (S1).
func TestStatusChangeEventReleasesSlotAndClaimOnce(t *testing.T) {
	f := newFixture(t)
	failed := f.run(t, "job-5001-aa", "5001", "fail", sfntypes.ExecutionStatusFailed)
	// Job 5002's old execution failed, but a newer execution claims the job now.
	old := f.run(t, "job-5002-old", "5002", "fail", sfntypes.ExecutionStatusFailed)
	last := f.run(t, "job-5003-last", "5003", "fail", sfntypes.ExecutionStatusFailed)
	f.seed(t, 4, map[string]time.Time{"job-5001-aa": time.Now(), "job-5002-old": time.Now(), "job-5002-new": time.Now(), "job-5003-last": time.Now()})
	f.claim(t, "5001", contract.StatusPending, "job-5001-aa", 0) // died waiting for a slot: attempt not counted
	f.claim(t, "5002", contract.StatusInProgress, "job-5002-new", 1)
	f.claim(t, "5003", contract.StatusInProgress, "job-5003-last", 3) // its last allowed attempt

	tests := []struct {
		name        string
		event       json.RawMessage
		want        Result
		wantCount   int
		wantHolders int
		job         string
		wantJob     jobstatus.Job
	}{
		{"first delivery", f.event(t, "job-5001-aa", "FAILED", failed), Result{Mode: "event", Checked: 1, Released: 1, ClaimsReleased: 1, Requeued: 1}, 3, 3,
			"5001", jobstatus.Job{Overall: contract.StatusQueued, Attempts: 0}},
		{"second delivery", f.event(t, "job-5001-aa", "FAILED", failed), Result{Mode: "event", Checked: 1}, 3, 3,
			"5001", jobstatus.Job{Overall: contract.StatusQueued, Attempts: 0}},
		{"claim of a newer execution kept", f.event(t, "job-5002-old", "ABORTED", old), Result{Mode: "event", Checked: 1, Released: 1}, 2, 2,
			"5002", jobstatus.Job{Overall: contract.StatusInProgress, Execution: "job-5002-new", Attempts: 1}},
		{"last attempt given up", f.event(t, "job-5003-last", "TIMED_OUT", last), Result{Mode: "event", Checked: 1, Released: 1, ClaimsReleased: 1}, 1, 1,
			"5003", jobstatus.Job{Overall: contract.StatusPermanentlyFailed, Attempts: 3}},
		{"success releases its slot", f.event(t, "job-5002-new", "SUCCEEDED", old), Result{Mode: "event", Checked: 1, Released: 1}, 0, 0,
			"5002", jobstatus.Job{Overall: contract.StatusInProgress, Execution: "job-5002-new", Attempts: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.h.Handle(t.Context(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("result %+v, want %+v", got, tt.want)
			}
			st, err := f.sem.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Count != tt.wantCount || len(st.Holders) != tt.wantHolders {
				t.Fatalf("count %d holders %v, want %d and %d", st.Count, st.Holders, tt.wantCount, tt.wantHolders)
			}
			j := f.status(t, tt.job)
			if j.Overall != tt.wantJob.Overall || j.Execution != tt.wantJob.Execution || j.Attempts != tt.wantJob.Attempts {
				t.Fatalf("job %s: %s claimed by %q after %d attempts, want %+v", tt.job, j.Overall, j.Execution, j.Attempts, tt.wantJob)
			}
		})
	}
	if e := f.status(t, "5003").LastError; e == nil || e.Step != cleanupStep || e.Error != "ExecutionTIMED_OUT" || !strings.Contains(e.Cause, "job-5003-last") {
		t.Fatalf("lastError %+v does not name the step, the status and the execution", e)
	}
	if msgs := f.messages(t); len(msgs) != 1 || msgs[0].Job.JobPostingID != "5001" || msgs[0].Publication != 1 {
		t.Fatalf("messages %+v, want job 5001's publication 1", msgs)
	}
}

// messages receives and deletes every message of the jobs queue.
func (f *fixture) messages(t *testing.T) []contract.QueueMessage {
	t.Helper()
	var out []contract.QueueMessage
	for {
		got, err := f.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.res.QueueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			return out
		}
		for _, m := range got.Messages {
			var qm contract.QueueMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &qm); err != nil {
				t.Fatal(err)
			}
			out = append(out, qm)
			if _, err := f.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(f.res.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestSweep(t *testing.T) {
	f := newFixture(t)
	f.run(t, "job-6001-run", "6001", "hold", sfntypes.ExecutionStatusRunning)
	f.run(t, "job-6002-ok", "6002", "succeed", sfntypes.ExecutionStatusSucceeded)
	f.run(t, "job-6003-stop", "6003", "hold", sfntypes.ExecutionStatusRunning)
	if _, err := f.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: aws.String(f.arn(t, "job-6003-stop"))}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	long := now.Add(-2 * time.Hour) // older than the 30 min lock timeout
	holders := map[string]time.Time{
		"job-6001-run":   long, // old, but RUNNING: never reclaimed
		"job-6002-ok":    now,
		"job-6003-stop":  now,
		"job-6004-gone":  long, // unknown and old: released
		"job-6005-fresh": now,  // unknown but young: it may be starting, kept
	}
	f.seed(t, len(holders)+2, holders) // two leaked slots
	f.claim(t, "6001", contract.StatusInProgress, "job-6001-run", 1)
	f.claim(t, "6003", contract.StatusInProgress, "job-6003-stop", 2) // attempt already counted
	f.claim(t, "6002", contract.StatusCompleted, "", 1)

	got, err := f.h.Handle(t.Context(), json.RawMessage(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Mode: "sweep", Checked: 5, Running: 1, Released: 3, ClaimsReleased: 1, Kept: 1, Drift: 2}
	if got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	st, err := f.sem.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, h := range st.Holders {
		left = append(left, h.Execution)
	}
	if st.Count != 2 || strings.Join(left, ",") != "job-6001-run,job-6005-fresh" {
		t.Fatalf("count %d holders %v, want 2: job-6001-run,job-6005-fresh", st.Count, left)
	}
	if d, err := f.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(f.arn(t, "job-6001-run"))}); err != nil || d.Status != sfntypes.ExecutionStatusRunning {
		t.Fatalf("running execution touched: %v %v", d.Status, err)
	}
	for job, want := range map[string]jobstatus.Job{
		"6001": {Overall: contract.StatusInProgress, Execution: "job-6001-run", Attempts: 1},
		"6003": {Overall: contract.StatusFailed, Attempts: 2},
		"6002": {Overall: contract.StatusCompleted, Attempts: 1},
	} {
		if j := f.status(t, job); j.Overall != want.Overall || j.Execution != want.Execution || j.Attempts != want.Attempts {
			t.Errorf("job %s: %s claimed by %q after %d attempts, want %+v", job, j.Overall, j.Execution, j.Attempts, want)
		}
	}
	var emf map[string]any
	if err := json.Unmarshal(f.metrics.Bytes(), &emf); err != nil {
		t.Fatalf("metrics line %q: %v", f.metrics.String(), err)
	}
	if emf[contract.MetricSemaphoreDrift] != 2.0 || emf[contract.MetricSlotsReleased] != 3.0 || emf["Stack"] != f.names.Stack {
		t.Fatalf("EMF line %s", f.metrics.String())
	}

	again, err := f.h.Handle(t.Context(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Mode: "sweep", Checked: 2, Running: 1, Kept: 1}); again != want {
		t.Fatalf("second sweep %+v, want %+v", again, want)
	}
}

// The reaper settles what no event reported (L5, L7, L8): a QUEUED row without
// message or execution, a QUEUED row whose execution ended before its claim, a PENDING
// row whose execution was stopped waiting for a slot, an IN_PROGRESS row of a vanished
// execution after its last attempt. Running and young rows are left alone.
func TestReaperSettlesRowsNoSignalReported(t *testing.T) {
	f := newFixture(t)
	f.run(t, "job-7002-p1", "7002", "fail", sfntypes.ExecutionStatusFailed) // ended before its claim
	f.run(t, "job-7003-wait", "7003", "hold", sfntypes.ExecutionStatusRunning)
	if _, err := f.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: aws.String(f.arn(t, "job-7003-wait"))}); err != nil {
		t.Fatal(err)
	}
	f.run(t, "job-7004-run", "7004", "hold", sfntypes.ExecutionStatusRunning)
	f.seed(t, 0, nil)
	old, young := time.Now().Add(-2*time.Hour), time.Now()
	f.row(t, "7001", contract.StatusQueued, "", 0, 1, old) // marked, never published (L5)
	f.row(t, "7002", contract.StatusQueued, "", 0, 1, old)
	f.row(t, "7003", contract.StatusPending, "job-7003-wait", 1, 2, old)
	f.row(t, "7004", contract.StatusInProgress, "job-7004-run", 1, 1, old)
	f.row(t, "7005", contract.StatusQueued, "", 0, 1, young)
	f.row(t, "7006", contract.StatusInProgress, "job-7006-gone", 3, 1, old)

	got, err := f.h.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Stuck != 4 || got.Requeued != 3 || got.ClaimsReleased != 4 || got.Errors != 0 {
		t.Fatalf("sweep %+v, want 4 stuck, 3 requeued, 1 given up", got)
	}
	for job, want := range map[string]jobstatus.Job{
		"7001": {Overall: contract.StatusQueued, Publication: 2},
		"7002": {Overall: contract.StatusQueued, Publication: 2},
		"7003": {Overall: contract.StatusQueued, Publication: 3, Attempts: 1},
		"7004": {Overall: contract.StatusInProgress, Publication: 1, Attempts: 1, Execution: "job-7004-run"},
		"7005": {Overall: contract.StatusQueued, Publication: 1},
		"7006": {Overall: contract.StatusPermanentlyFailed, Publication: 1, Attempts: 3},
	} {
		j := f.status(t, job)
		if j.Overall != want.Overall || j.Publication != want.Publication || j.Attempts != want.Attempts || j.Execution != want.Execution {
			t.Errorf("job %s = %s pub %d attempts %d claim %q, want %+v", job, j.Overall, j.Publication, j.Attempts, j.Execution, want)
		}
	}
	pubs := map[string]int{}
	for _, m := range f.messages(t) {
		pubs[m.Job.JobPostingID] = m.Publication
	}
	if want := map[string]int{"7001": 2, "7002": 2, "7003": 3}; fmt.Sprint(pubs) != fmt.Sprint(want) {
		t.Errorf("messages %v, want %v", pubs, want)
	}
	var emf map[string]any
	if err := json.Unmarshal(f.metrics.Bytes(), &emf); err != nil {
		t.Fatalf("metrics line %q: %v", f.metrics.String(), err)
	}
	if emf[contract.MetricStuckJobs] != 4.0 || emf[contract.MetricJobsRequeued] != 3.0 || emf[contract.MetricOldestJobAge].(float64) < 7000 {
		t.Errorf("EMF line %s", f.metrics.String())
	}
	// Requeued rows are young again: the next sweep finds nothing.
	if again, err := f.h.Sweep(t.Context()); err != nil || again.Stuck != 0 {
		t.Errorf("second sweep %+v %v", again, err)
	}
}

// A stranded row (marked, its message never sent: a publisher died in between, L5)
// is requeued after the bound even behind a backlog that covers every QUEUED row,
// because it says it was never sent; a sent row waits for its message, and a row
// that does not say stays behind the backlog gate. Before the sent publication, all
// three waited until the backlog drained (34 minutes in the 500-job chaos run).
func TestReaperRequeuesUnsentRowBehindABacklog(t *testing.T) {
	f := newFixture(t)
	f.seed(t, 0, nil)
	old := time.Now().Add(-2 * time.Hour)
	sent := func(job string, publication int) {
		t.Helper()
		if _, err := f.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(f.names.StatusTable),
			Key:                       map[string]dbtypes.AttributeValue{contract.StatusKey: &dbtypes.AttributeValueMemberS{Value: job}},
			UpdateExpression:          aws.String("SET #s = :p"),
			ExpressionAttributeNames:  map[string]string{"#s": contract.AttrSent},
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":p": &dbtypes.AttributeValueMemberN{Value: strconv.Itoa(publication)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	f.row(t, "7101", contract.StatusQueued, "", 0, 2, old) // marked publication 2, sent only 1
	sent("7101", 1)
	f.row(t, "7102", contract.StatusQueued, "", 0, 1, old) // sent: its message waits
	sent("7102", 1)
	f.row(t, "7103", contract.StatusQueued, "", 0, 1, old) // says nothing
	backlog := make([]queue.Entry, 5)                      // more messages than QUEUED rows
	for i := range backlog {
		backlog[i] = queue.EntryFor(contract.JobRef{JobPostingID: fmt.Sprint(7190 + i), Partition: "p"}, 1, false)
	}
	if refused, err := queue.NewPublisher(f.sqs, f.res.QueueURL, 1).Publish(t.Context(), backlog); err != nil || len(refused) > 0 {
		t.Fatalf("backlog: %v %v", refused, err)
	}

	got, err := f.h.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Stuck != 1 || got.Requeued != 1 || got.Errors != 0 {
		t.Fatalf("sweep %+v, want the unsent row alone stuck and requeued", got)
	}
	for job, want := range map[string][2]int{"7101": {3, 3}, "7102": {1, 1}, "7103": {1, -1}} {
		j := f.status(t, job)
		sentPub := -1
		if j.SentKnown {
			sentPub = j.Sent
		}
		if j.Overall != contract.StatusQueued || j.Publication != want[0] || sentPub != want[1] {
			t.Errorf("job %s = %s publication %d sent %d, want publication %d sent %d", job, j.Overall, j.Publication, sentPub, want[0], want[1])
		}
	}
	var requeued []int
	for _, m := range f.messages(t) {
		if m.Job.JobPostingID == "7101" {
			requeued = append(requeued, m.Publication)
		}
	}
	if fmt.Sprint(requeued) != "[3]" {
		t.Errorf("messages of 7101: %v, want publication 3 alone", requeued)
	}
}
