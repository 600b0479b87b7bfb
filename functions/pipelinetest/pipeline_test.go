package pipelinetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
)

const (
	succeeded = sfntypes.ExecutionStatusSucceeded
	failed    = sfntypes.ExecutionStatusFailed
)

// requireCompleted checks a job enriched by one attempt: three passes recorded with
// their Bronze key, model, tokens and cost, no claim left.
func requireCompleted(t *testing.T, id string) status.Job {
	t.Helper()
	j := jobStatus(t, id)
	if j.Overall != contract.StatusCompleted || j.Execution != "" || j.LastError != nil {
		t.Fatalf("job %s = %+v, want COMPLETED without claim or error", id, j)
	}
	for _, p := range contract.Passes {
		got := j.Passes[p]
		if got.Status != contract.StatusCompleted || got.BronzeKey != contract.BronzeKey(id, p, env.settings.ModelPass1) || got.Model == "" || got.CompletedAt == "" {
			t.Errorf("job %s %s = %+v", id, p, got)
		}
		if !got.Cached && (got.InputTokens == 0 || got.OutputTokens == 0 || got.CostUSD <= 0) {
			t.Errorf("job %s %s called the model but stored no tokens or cost: %+v", id, p, got)
		}
	}
	return j
}

func TestHappyPathThenAlreadyCompleted(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "100001", 12000)

	e := run(t, job, "a1", false)
	requireStatus(t, e, succeeded, workflow.StateEnriched)
	j := requireCompleted(t, job.JobPostingID)
	if j.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", j.Attempts)
	}
	// The state machine writes updatedAt from $$.State.EnteredTime: in the one format
	// of the Go writers, so the index sorts them together.
	if at, err := time.Parse(status.TimeLayout, j.UpdatedAt); err != nil || status.Timestamp(at) != j.UpdatedAt {
		t.Errorf("updatedAt %q is not in status.TimeLayout", j.UpdatedAt)
	}
	if got := modelCalls(c, job.JobPostingID); got != [3]int{1, 1, 1} {
		t.Errorf("model calls per pass = %v, want one each", got)
	}
	requireSlotsFree(t)

	transitions, payload := len(e.entered()), e.largestPayload()
	t.Logf("uncontended successful job: %d state transitions %v; largest state payload %d bytes with a 12,000-character description",
		transitions, e.entered(), payload)
	if transitions > 16 {
		t.Errorf("%d state transitions per job, target at most 16", transitions)
	}
	if payload >= 32*1024 {
		t.Errorf("largest state payload %d bytes, target under 32 KiB", payload)
	}

	again := run(t, job, "a2", false)
	requireStatus(t, again, succeeded, workflow.StateSkipped)
	if again.visited(workflow.StateAcquireSlot) != 0 {
		t.Errorf("an already completed job took the slot path: %v", again.entered())
	}
	if got := modelCalls(c, job.JobPostingID); got != [3]int{1, 1, 1} {
		t.Errorf("model calls per pass after the rerun = %v, want still one each", got)
	}
	if jobStatus(t, job.JobPostingID).Attempts != 1 {
		t.Error("the skipped rerun counted an attempt")
	}
	requireSlotsFree(t)
}

// invalid makes every model call of one job and pass fail with a request the model
// rejects (ModelInvalidRequest: not retried).
func invalid(id string, p contract.Pass) bedrockemu.Faults {
	return bedrockemu.Faults{Rules: []bedrockemu.Rule{{Job: id, Pass: p, Kind: bedrockemu.Invalid}}}
}

// requireFailed checks one failed attempt: FAILED (or PERMANENTLY_FAILED) with the
// failing step and error stored, the claim given up, the slot released.
func requireFailed(t *testing.T, id, overall string, attempts int, step string) status.Job {
	t.Helper()
	j := jobStatus(t, id)
	if j.Overall != overall || j.Attempts != attempts || j.Execution != "" {
		t.Fatalf("job %s = %+v, want %s after %d attempts without claim", id, j, overall, attempts)
	}
	if j.LastError == nil || j.LastError.Step != step || j.LastError.Error == "" {
		t.Fatalf("job %s last error = %+v, want one at step %s", id, j.LastError, step)
	}
	requireSlotsFree(t)
	return j
}

func TestPassFailureThenResume(t *testing.T) {
	for i, p := range contract.Passes {
		t.Run(string(p), func(t *testing.T) {
			c := cloud(t)
			job := putPosting(t, fmt.Sprintf("2000%d", i+1), 800)
			c.Bedrock().SetFaults(invalid(job.JobPostingID, p))

			e := run(t, job, "a1", false)
			requireStatus(t, e, failed, workflow.StateFailed)
			j := requireFailed(t, job.JobPostingID, contract.StatusFailed, 1, string(p))
			if j.LastError.Error != contract.ErrNameInvalidRequest {
				t.Errorf("stored error %q, want %s", j.LastError.Error, contract.ErrNameInvalidRequest)
			}
			for _, done := range contract.Passes[:i] {
				if j.Passes[done].Status != contract.StatusCompleted {
					t.Errorf("%s before the failure is not recorded: %+v", done, j.Passes[done])
				}
			}
			if e.visited(workflow.RunPass(p)) != 1 || c.Bedrock().Count(job.JobPostingID, p) != 1 {
				t.Errorf("an invalid request was retried: %d invocations, %d model calls", e.visited(workflow.RunPass(p)), c.Bedrock().Count(job.JobPostingID, p))
			}

			c.Bedrock().SetFaults(bedrockemu.Faults{})
			before := modelCalls(c, job.JobPostingID)
			e = run(t, job, "a2", false)
			requireStatus(t, e, succeeded, workflow.StateEnriched)
			j = requireCompleted(t, job.JobPostingID)
			if j.Attempts != 2 {
				t.Errorf("attempts = %d, want 2", j.Attempts)
			}
			after := modelCalls(c, job.JobPostingID)
			for k, q := range contract.Passes {
				resent := after[k] - before[k]
				if k < i && resent != 0 {
					t.Errorf("resume re-sent the completed %s to the model", q)
				}
				if k >= i && resent != 1 {
					t.Errorf("resume sent %s %d times, want once", q, resent)
				}
			}
		})
	}
}

func TestCrashThenPermanentlyFailed(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "300001", 800)
	setCrash(job.JobPostingID, true)
	t.Cleanup(func() { setCrash(job.JobPostingID, false) })

	e := run(t, job, "a1", false)
	requireStatus(t, e, failed, workflow.StateFailed)
	j := requireFailed(t, job.JobPostingID, contract.StatusFailed, 1, string(contract.Pass1))
	if j.LastError.Error != "Runtime.ExitError" {
		t.Errorf("stored error %q, want the crash's Runtime.ExitError", j.LastError.Error)
	}
	if n := e.visited(workflow.RunPass(contract.Pass1)); n != 1 {
		t.Errorf("a crash was retried blindly: %d invocations", n)
	}

	e = run(t, job, "a2", false)
	requireStatus(t, e, failed, workflow.StateFailed)
	requireFailed(t, job.JobPostingID, contract.StatusPermanentlyFailed, env.settings.MaxAttempts, string(contract.Pass1))

	setCrash(job.JobPostingID, false)
	e = run(t, job, "a3", false)
	requireStatus(t, e, succeeded, workflow.StateSkipped)
	if e.visited(workflow.StateAcquireSlot) != 0 || modelCalls(c, job.JobPostingID) != [3]int{} {
		t.Errorf("a permanently failed job took a slot or called the model: %v", e.entered())
	}
}

func TestForceRerunsEveryPass(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "400001", 800)
	requireStatus(t, run(t, job, "a1", false), succeeded, workflow.StateEnriched)

	e := run(t, job, "a2", true)
	requireStatus(t, e, succeeded, workflow.StateEnriched)
	if got := modelCalls(c, job.JobPostingID); got != [3]int{2, 2, 2} {
		t.Errorf("model calls per pass after force = %v, want two each", got)
	}
	j := requireCompleted(t, job.JobPostingID)
	for _, p := range contract.Passes {
		if j.Passes[p].Cached {
			t.Errorf("forced %s was served from the cache", p)
		}
	}
	requireSlotsFree(t)

	// D4: a forced run that fails at pass2 leaves no record of the earlier run's pass2 and
	// pass3, so the retry cannot resume on a mix of old and new results.
	c.Bedrock().SetFaults(bedrockemu.Faults{Rules: []bedrockemu.Rule{{Job: job.JobPostingID, Pass: contract.Pass2, Kind: bedrockemu.ReasoningOnly}}})
	t.Cleanup(func() { c.Bedrock().SetFaults(bedrockemu.Faults{}) })
	requireStatus(t, run(t, job, "a3", true), failed, workflow.StateFailed)
	after := jobStatus(t, job.JobPostingID)
	if _, kept := after.Passes[contract.Pass2]; kept || after.Passes[contract.Pass3] != (status.Pass{}) {
		t.Errorf("failed forced run kept the earlier passes: %+v", after.Passes)
	}
	if p1 := after.Passes[contract.Pass1]; p1.CompletedAt == j.Passes[contract.Pass1].CompletedAt {
		t.Errorf("pass1 = %+v, want the forced run's record", p1)
	}
}

// TestSameJobTwiceAtOnce starts a second execution of a job while the first holds
// it. (It starts the second once the first's claim is visible: moto 5.2.1 does not make
// simultaneous conditional writes to one item atomic, which DynamoDB does.)
func TestSameJobTwiceAtOnce(t *testing.T) {
	c := cloud(t)
	c.Bedrock().SetFaults(bedrockemu.Faults{Latency: time.Second})
	job := putPosting(t, "500001", 800)

	first := start(t, job, "a1", false)
	holder := contract.ExecutionName(job.JobPostingID, "a1")
	for range 300 {
		if j, err := env.status.Get(context.Background(), job.JobPostingID); err == nil && j.Execution == holder {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	second := finish(t, start(t, job, "a2", false))
	requireStatus(t, second, succeeded, workflow.StateSkipped)
	if second.visited(workflow.StateAcquireSlot) != 0 {
		t.Errorf("the second execution took the slot path: %v", second.entered())
	}
	firstDone := finish(t, first)
	requireStatus(t, firstDone, succeeded, workflow.StateEnriched)
	if !second.endedAt().Before(firstDone.endedAt()) {
		t.Error("the executions did not overlap: the second ended after the first")
	}
	if got := modelCalls(c, job.JobPostingID); got != [3]int{1, 1, 1} {
		t.Errorf("model calls per pass = %v, want one each", got)
	}
	requireCompleted(t, job.JobPostingID)
	requireSlotsFree(t)
}

// TestSlotsNeverOversubscribed races 4× more executions than slots. Its acquires are
// simultaneous conditional writes to one item, which moto 5.2.1 does not make atomic;
// the local cloud's gateway must serialise DynamoDB requests for this to be exact.
func TestSlotsNeverOversubscribed(t *testing.T) {
	c := cloud(t)
	c.Bedrock().SetFaults(bedrockemu.Faults{Latency: 300 * time.Millisecond})
	limit := env.settings.MaxConcurrentExecutions
	jobs := 4 * limit

	ctx, stop := context.WithCancel(context.Background())
	var (
		wg                    sync.WaitGroup
		maxCount, maxHolders  int
		samples, readFailures int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			st, err := env.sem.Read(ctx)
			if err != nil {
				readFailures++
				continue
			}
			samples++
			maxCount, maxHolders = max(maxCount, st.Count), max(maxHolders, len(st.Holders))
			time.Sleep(50 * time.Millisecond)
		}
	}()

	var arns []string
	for i := range jobs {
		arns = append(arns, start(t, putPosting(t, fmt.Sprintf("6000%02d", i), 400), "a1", false))
	}
	waited, mostTransitions, largest := 0, 0, 0
	for _, arn := range arns {
		e := finish(t, arn)
		requireStatus(t, e, succeeded, workflow.StateEnriched)
		waited += e.visited(workflow.StateWaitForSlot)
		mostTransitions, largest = max(mostTransitions, len(e.entered())), max(largest, e.largestPayload())
	}
	stop()
	wg.Wait()

	t.Logf("%d executions for %d slots: %d waits for a slot, at most %d transitions and %d payload bytes in one execution; %d semaphore samples, max count %d, max holders %d",
		jobs, limit, waited, mostTransitions, largest, samples, maxCount, maxHolders)
	if maxCount > limit || maxHolders > limit {
		t.Errorf("semaphore reached count %d with %d holders, limit %d", maxCount, maxHolders, limit)
	}
	if waited == 0 || maxCount < limit {
		t.Errorf("no contention happened (%d waits, max count %d): the test proves nothing", waited, maxCount)
	}
	if samples == 0 {
		t.Errorf("the semaphore was never read (%d failures)", readFailures)
	}
	requireSlotsFree(t)
}

// T4: a pass still throttled after its retries is capacity trouble: the attempt is
// taken back, the slot released, and the job QUEUED again under a new publication
// whose message the execution sends itself.
func TestThrottledIsDeferredNotCounted(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "700001", 800)
	c.Bedrock().SetFaults(bedrockemu.Faults{Rules: []bedrockemu.Rule{{Job: job.JobPostingID, Pass: contract.Pass1, Kind: bedrockemu.Throttle}}})

	e := run(t, job, "a1", false)
	requireStatus(t, e, succeeded, workflow.StateDeferred)
	requireDeferred(t, job.JobPostingID, contract.ErrNameThrottled)
	invocations := 0
	for _, ev := range e.Events {
		if d := ev.TaskScheduledEventDetails; d != nil && aws.ToString(d.ResourceType) == "lambda" {
			invocations++
		}
	}
	if want := 1 + env.settings.ThrottleRetryAttempts; invocations != want {
		t.Errorf("throttled pass invoked %d times, want %d (first try and the state machine's retries)", invocations, want)
	}
	// One model call per invocation: the SDK does not retry throttling (llm.NewRuntime).
	if calls := c.Bedrock().Count(job.JobPostingID, contract.Pass1); calls != invocations {
		t.Errorf("%d model calls for %d invocations, want one each", calls, invocations)
	}
	if c.Bedrock().Count(job.JobPostingID, contract.Pass2) != 0 {
		t.Error("pass2 ran after pass1 failed")
	}
	requireSlotsFree(t)
}

// requireDeferred checks a job the state machine deferred: QUEUED, no attempt counted,
// no claim, and exactly one message of its new publication naming the reason.
func requireDeferred(t *testing.T, id, reason string) {
	t.Helper()
	j := jobStatus(t, id)
	if j.Overall != contract.StatusQueued || j.Attempts != 0 || j.Execution != "" || j.Publication < 1 {
		t.Fatalf("deferred job = %+v, want QUEUED, no attempt, no claim, a publication", j)
	}
	var got []contract.QueueMessage
	for {
		out, err := env.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(env.res.QueueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var qm contract.QueueMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &qm); err != nil {
				t.Fatal(err)
			}
			if qm.Job.JobPostingID == id {
				got = append(got, qm)
			}
			_, _ = env.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(env.res.QueueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(got) != 1 || got[0].Publication != j.Publication || got[0].Deferred != reason || got[0].Job.PostingKey != contract.PostingKey(id) {
		t.Fatalf("messages of job %s = %+v, want one of publication %d deferred for %s", id, got, j.Publication, reason)
	}
}

func TestListAndCount(t *testing.T) {
	localcloud.Shared(t)
	ctx := context.Background()
	job := putPosting(t, "800001", 400)
	requireStatus(t, run(t, job, "a1", false), succeeded, workflow.StateEnriched)

	counts, err := env.status.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := env.status.ListByStatus(ctx, contract.StatusCompleted, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if counts[contract.StatusCompleted] != len(done) || len(done) == 0 {
		t.Fatalf("Counts says %d completed, ListByStatus lists %d", counts[contract.StatusCompleted], len(done))
	}
	found := false
	for _, j := range done {
		found = found || j.ID == job.JobPostingID
		if j.Overall != contract.StatusCompleted {
			t.Errorf("ListByStatus(COMPLETED) returned %s in %s", j.ID, j.Overall)
		}
	}
	if !found {
		t.Errorf("job %s missing from the completed list", job.JobPostingID)
	}
	if one, err := env.status.ListByStatus(ctx, contract.StatusCompleted, 1); err != nil || len(one) != 1 {
		t.Errorf("ListByStatus limit 1 = %d jobs, %v", len(one), err)
	}
	if _, err := env.status.Get(ctx, "999999999"); !errors.Is(err, status.ErrNotFound) {
		t.Errorf("Get of an unknown job = %v, want ErrNotFound", err)
	}
}

// TestQueuedJobRunsLikeNew: discovery writes QUEUED before publishing a job.
func TestQueuedJobRunsLikeNew(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "900001", 400)
	_, err := env.db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(env.names.StatusTable),
		Item: map[string]ddbtypes.AttributeValue{
			contract.StatusKey:         &ddbtypes.AttributeValueMemberS{Value: job.JobPostingID},
			contract.AttrOverallStatus: &ddbtypes.AttributeValueMemberS{Value: contract.StatusQueued},
			contract.AttrUpdatedAt:     &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	requireStatus(t, run(t, job, "a1", false), succeeded, workflow.StateEnriched)
	if j := requireCompleted(t, job.JobPostingID); j.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", j.Attempts)
	}
	if got := modelCalls(c, job.JobPostingID); got != [3]int{1, 1, 1} {
		t.Errorf("model calls per pass = %v, want one each", got)
	}
	requireSlotsFree(t)
}

// setSemaphoreCount overwrites the count, as if other executions held every slot.
func setSemaphoreCount(t *testing.T, n int) {
	t.Helper()
	localcloud.SetSemaphoreCount(t, env.db, env.names.SemaphoreTable, n)
}

// TestSlotWaitIsBounded runs a copy of the definition that gives up after two waits
// against a full semaphore: the job is deferred (QUEUED again, a new message) without
// counting an attempt (T4; before, it was FAILED and republished under the same name, L1).
func TestSlotWaitIsBounded(t *testing.T) {
	c := cloud(t)
	s := env.settings
	s.SlotWaitAttempts = 2
	arn := machineWith(t, s, "-slotwait")
	setSemaphoreCount(t, s.MaxConcurrentExecutions)
	t.Cleanup(func() { setSemaphoreCount(t, 0) })

	job := putPosting(t, "910001", 400)
	e := finish(t, startOn(t, arn, job, "a1", false))
	requireStatus(t, e, succeeded, workflow.StateDeferred)
	if n := e.visited(workflow.StateWaitForSlot); n != s.SlotWaitAttempts {
		t.Errorf("waited %d times, want %d", n, s.SlotWaitAttempts)
	}
	requireDeferred(t, job.JobPostingID, workflow.ErrorSlotUnavailable)
	if got := modelCalls(c, job.JobPostingID); got != [3]int{} {
		t.Errorf("model called without a slot: %v", got)
	}
	st, err := env.sem.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != s.MaxConcurrentExecutions || len(st.Holders) != 0 {
		t.Errorf("semaphore after giving up = count %d holders %v, want the count untouched and no holder", st.Count, st.Holders)
	}
}

// TestFailingStatusWriteReleasesSlot takes the claim away while pass1 runs, so the
// status writes after it fail their condition; the slot must still be released.
func TestFailingStatusWriteReleasesSlot(t *testing.T) {
	c := cloud(t)
	c.Bedrock().SetFaults(bedrockemu.Faults{Latency: 3 * time.Second})
	job := putPosting(t, "920001", 400)
	arn := start(t, job, "a1", false)
	for range 300 {
		if j, err := env.status.Get(context.Background(), job.JobPostingID); err == nil && j.Overall == contract.StatusInProgress {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err := env.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                aws.String(env.names.StatusTable),
		Key:                      map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: job.JobPostingID}},
		UpdateExpression:         aws.String("REMOVE #ex"),
		ExpressionAttributeNames: map[string]string{"#ex": contract.AttrExecution},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := finish(t, arn)
	requireStatus(t, e, failed, workflow.StateFailed)
	for _, state := range []string{workflow.RecordPass(contract.Pass1), workflow.PassFailed(contract.Pass1), workflow.StateMarkFailed, workflow.StateReleaseOnFail} {
		if e.visited(state) != 1 {
			t.Errorf("path %v does not pass %s", e.entered(), state)
		}
	}
	if e.visited(workflow.RunPass(contract.Pass2)) != 0 {
		t.Error("pass2 ran after the pass1 status write failed")
	}
	requireSlotsFree(t)
}

// A pass recorded COMPLETED whose Bronze document a lifecycle rule removed: the resume
// runs the passes again from the first instead of failing every attempt with the
// missing result.
func TestExpiredBronzeResultRunsAgain(t *testing.T) {
	c := cloud(t)
	job := putPosting(t, "2100001", 800)
	id := job.JobPostingID
	c.Bedrock().SetFaults(invalid(id, contract.Pass3))
	e := run(t, job, "a1", false)
	requireStatus(t, e, failed, workflow.StateFailed)
	requireFailed(t, id, contract.StatusFailed, 1, string(contract.Pass3))
	c.Bedrock().SetFaults(bedrockemu.Faults{})

	// The lifecycle rule expires pass1's document; its status still says COMPLETED.
	if _, err := env.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{
		Bucket: aws.String(env.settings.BronzeBucket), Key: aws.String(contract.BronzeKey(id, contract.Pass1, env.settings.ModelPass1)),
	}); err != nil {
		t.Fatal(err)
	}
	before := modelCalls(c, id)
	e = run(t, job, "a2", false)
	requireStatus(t, e, succeeded, workflow.StateEnriched)
	requireCompleted(t, id)
	if e.visited(workflow.StateResumeAtPass3) != 1 || e.visited(workflow.StateForget) != 1 || e.visited(workflow.RunPass(contract.Pass1)) != 1 {
		t.Errorf("states entered %v: want the resume at pass3, then the passes again from pass1", e.entered())
	}
	after := modelCalls(c, id)
	// This handler takes no emulated answer from the cache, so every pass asks once.
	if resent := [3]int{after[0] - before[0], after[1] - before[1], after[2] - before[2]}; resent != [3]int{1, 1, 1} {
		t.Errorf("model calls per pass in the second attempt = %v, want one each", resent)
	}
}
