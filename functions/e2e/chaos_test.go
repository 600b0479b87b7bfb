package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// scenario is one chaos run: how many jobs and which faults.
type scenario struct {
	jobs        int
	concurrency int
	faults      bedrockemu.Faults
	crashEvery  int // about 2 jobs in crashEvery crash once (see monitor.plan)
	redeliver   int // jobs whose original message is delivered again, twice
	duplicates  int // jobs published again under a new deduplication id (sent twice)
	aborts      int // running executions stopped
	// stranded jobs are marked QUEUED by a discovery run that dies before publishing
	// them (L5); stoppedBeforeClaim jobs get their publication's execution started and
	// ended before its claim, ahead of their message (L7, and L1 through invoke).
	stranded, stoppedBeforeClaim int
	// lostMarks and lostAcquires lose the answer of every n-th QUEUED mark and
	// AcquireSlot after it committed (0: none).
	lostMarks, lostAcquires int
	// overlap runs discovery twice at once: the first run, and again over a late file.
	overlap bool
	// late jobs land in a file added behind the cursor once discovery passed it.
	late int
	// events is how status-change events reach CleanupLocks (lost, duplicated, late
	// and so out of order); Lose 1 delivers none, so the sweep alone settles them.
	events localrun.Delivery
	// outage (every call 503) and then brownout (every call hangs to the read
	// timeout) start outageAt after the pipeline starts.
	outage, brownout, outageAt time.Duration
	// operatorRetry fails one job's model calls for good and has an operator retry
	// it once an attempt failed: it must fail again, and end.
	operatorRetry bool
	// lowerLimit is deployed as maxConcurrentExecutions for limitHold, then the
	// original again (0: no change).
	lowerLimit int
	limitHold  time.Duration
	// maxAttempts overrides the stack's (0: keep it); fewer make the failing job's
	// road to PERMANENTLY_FAILED, twice, shorter.
	maxAttempts int
	// settle bounds the time from the end of the faults to every job's end; timeout
	// bounds the whole run.
	settle, timeout time.Duration
}

// requireChaos skips unless CHAOS=1: even the short variant takes minutes, since
// moto executes every state in one Python process.
func requireChaos(t *testing.T) {
	if os.Getenv("CHAOS") != "1" {
		t.Skip("the chaos tests run with CHAOS=1 (make chaos)")
	}
}

// chaosJobs is the long run's job count: CHAOS_JOBS, default 500.
func chaosJobs(t *testing.T) int {
	n := 500
	if v := os.Getenv("CHAOS_JOBS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 50 {
			t.Fatalf("CHAOS_JOBS=%q: want a number of at least 50", v)
		}
	}
	return n
}

// TestChaos is the long run of `make chaos`: 500 jobs with every fault kind, those of
// the liveness variant included.
func TestChaos(t *testing.T) {
	requireChaos(t)
	runChaos(t, scenario{
		jobs: chaosJobs(t), concurrency: 10,
		faults: bedrockemu.Faults{
			Latency: 200 * time.Millisecond, RequestsPerMinute: 150, ErrorRate: 0.03, Seed: 1,
			Rules: []bedrockemu.Rule{
				{Pass: contract.Pass1, First: 12, Kind: bedrockemu.Truncate},
				{Pass: contract.Pass1, First: 20, Kind: bedrockemu.Throttle},
				{Pass: contract.Pass2, First: 8, Kind: bedrockemu.ReasoningOnly},
				{Pass: contract.Pass3, First: 8, Kind: bedrockemu.InternalError},
			},
		},
		crashEvery: 20, redeliver: 10, duplicates: 10, aborts: 20,
		stranded: 20, stoppedBeforeClaim: 10, lostMarks: 7, lostAcquires: 9, overlap: true, late: 20,
		events:   localrun.Delivery{Lose: 0.3, Duplicate: 0.3, MaxDelay: 20 * time.Second, Seed: 1},
		outageAt: 60 * time.Second, outage: 25 * time.Second, brownout: 20 * time.Second,
		operatorRetry: true, lowerLimit: 4, limitHold: 30 * time.Second,
		settle: 60 * time.Minute, timeout: 150 * time.Minute,
	})
}

// TestChaosSmall is the short variant: every fault once or twice.
func TestChaosSmall(t *testing.T) {
	requireChaos(t)
	runChaos(t, scenario{
		jobs: 12, concurrency: 4,
		faults: bedrockemu.Faults{
			Latency: 100 * time.Millisecond, ErrorRate: 0.05, Seed: 2,
			Rules: []bedrockemu.Rule{
				{Pass: contract.Pass1, First: 2, Kind: bedrockemu.Throttle},
				{Pass: contract.Pass1, First: 2, Kind: bedrockemu.Truncate},
				{Pass: contract.Pass2, First: 1, Kind: bedrockemu.ReasoningOnly},
				{Pass: contract.Pass3, First: 2, Kind: bedrockemu.InternalError},
			},
		},
		crashEvery: 6, redeliver: 2, duplicates: 2, aborts: 1,
		events: localrun.Delivery{Duplicate: 0.5, MaxDelay: 10 * time.Second, Seed: 2},
		settle: 6 * time.Minute, timeout: 8 * time.Minute,
	})
}

// TestChaosLiveness is the liveness invariant under every fault kind at a small
// scale: a discovery that dies between mark and publish, lost acknowledgements of
// marks and acquires, overlapping discovery runs, late Silver, executions that end
// before their claim, aborts, throttling that must defer instead of failing,
// status-change events mostly lost and the rest duplicated and late, a model outage
// and a brown-out, an operator retry that fails again and a limit change. Every job
// must end COMPLETED or PERMANENTLY_FAILED with a reason. `make test` runs it (about
// a minute); -short skips it.
func TestChaosLiveness(t *testing.T) {
	if testing.Short() {
		t.Skip("the liveness chaos run takes about a minute")
	}
	runChaos(t, scenario{
		jobs: 6, concurrency: 3,
		faults: bedrockemu.Faults{
			Latency: 100 * time.Millisecond, Seed: 3,
			Rules: []bedrockemu.Rule{{Pass: contract.Pass1, First: 6, Kind: bedrockemu.Throttle}},
		},
		stranded: 2, stoppedBeforeClaim: 2, aborts: 2, lostMarks: 3, lostAcquires: 3, overlap: true, late: 2,
		events:   localrun.Delivery{Lose: 0.6, Duplicate: 0.5, MaxDelay: 8 * time.Second, Seed: 3},
		outageAt: 10 * time.Second, outage: 8 * time.Second, brownout: 5 * time.Second,
		operatorRetry: true, lowerLimit: 1, limitHold: 10 * time.Second, maxAttempts: 2,
		settle: 4 * time.Minute, timeout: 10 * time.Minute,
	})
}

// chaosSettings are the dev stack's with waits short enough for a test: the
// structure of the definition is the deployed one. The pass timeout is the least
// the stack accepts, so a brown-out's calls hang 15 s (the read timeout), not 165.
func chaosSettings(sc scenario) (stacks.Settings, error) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		return s, err
	}
	s.BronzeBucket, s.SilverBucket = "chaos-bronze", "chaos-silver"
	s.MaxConcurrentExecutions = sc.concurrency
	s.MaxJobsPerPartition = sc.jobs
	s.SlotWait, s.SlotWaitAttempts = time.Second, 60
	s.ThrottleRetryInterval, s.ThrottleRetryMaxDelay, s.ThrottleRetryAttempts = time.Second, 4*time.Second, 3
	s.BreakerCooldown = 5 * time.Second
	s.PassTimeout, s.AlarmP99Latency = 30*time.Second, 20*time.Second
	if sc.maxAttempts > 0 {
		s.MaxAttempts = sc.maxAttempts
	}
	return s, nil
}

// readTimeout is EnrichPartition's model read timeout under chaosSettings
// (passTimeout less the write margin).
const readTimeout = 15 * time.Second

func runChaos(t *testing.T, sc scenario) {
	ctx := context.Background()
	begin := time.Now()
	cloud, err := localcloud.Start(ctx, localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}})
	if errors.Is(err, localcloud.ErrMotoMissing) {
		t.Skip("local cloud unavailable: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	s, err := chaosSettings(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// The handlers log to the default logger: thousands of lines would bury the report.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(discard)
	requeues := newRequeueLog()
	st, err := localrun.Deploy(ctx, cloud, contract.NamesFor(s.Stack), s, localrun.Options{Log: slog.New(requeues), DeferDelay: 2 * time.Second, StuckAfter: stuckAfter})
	if err != nil {
		t.Fatal(err)
	}
	mon := newMonitor(sc.crashEvery)
	cloud.RegisterFunction(st.Names.EnrichFunction, localcloud.JSONHandler(mon.wrap(st.Enrich.Handle)))
	msgs := watchMessages(cloud)
	exists := watchExists(cloud, st)
	marked, acquired := loseAcks(cloud, st, sc.lostMarks, sc.lostAcquires)
	defer marked.Stop()
	defer acquired.Stop()

	parts := sample.Partitions(time.Now().UTC().Add(-24*time.Hour), 1)
	if _, err := sample.WritePartitions(ctx, s3.NewFromConfig(st.Config), s.SilverBucket, s.SilverPrefix, parts, sc.jobs, 5); err != nil {
		t.Fatal(err)
	}
	f := figures{}
	published := 0
	if sc.overlap {
		published, err = discoverTwice(ctx, st, []string{parts[0].String()})
		f.overlaps++
	} else {
		var first discover.Result
		first, err = st.Discover.Handle(ctx, discover.Event{})
		published = first.Published
	}
	if err != nil {
		t.Fatal(err)
	}
	if published != sc.jobs {
		t.Fatalf("discover published %d of %d jobs", published, sc.jobs)
	}
	q := sqs.NewFromConfig(st.Config)
	peeked := max(sc.redeliver, sc.duplicates, sc.stoppedBeforeClaim)
	originals := peek(t, q, st.Resources.QueueURL, peeked+1)
	if len(originals) <= peeked {
		t.Fatalf("peeked %d messages, want %d", len(originals), peeked+1)
	}
	// One more than the other faults use: an early message, the failing job's.
	failing := originals[len(originals)-1]
	originals = originals[:len(originals)-1]
	duplicates := publishDuplicates(t, q, st.Resources.QueueURL, originals[:min(sc.duplicates, len(originals))])
	stranded := strand(t, st, sc.stranded)
	endBeforeClaim(t, st, originals[:min(sc.stoppedBeforeClaim, len(originals))])
	sc.jobs += stranded + sc.late

	phases := &modelPhases{base: sc.faults, outage: sc.outage, brownout: sc.brownout, outageAt: sc.outageAt, readTimeout: readTimeout}
	if sc.operatorRetry {
		var qm contract.QueueMessage
		if err := json.Unmarshal([]byte(failing.Body), &qm); err != nil {
			t.Fatal(err)
		}
		phases.failing = qm.Job.JobPostingID
	}
	cloud.Bedrock().SetFaults(phases.with(sc.faults))

	sch := localrun.Schedule{Discover: 3 * time.Second, Cleanup: 5 * time.Second}
	stop, err := st.Start(ctx, sch, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sfnc := sfn.NewFromConfig(st.Config)
	aborted := make(chan int, 1)
	go func() { aborted <- abort(cctx, sfnc, st.Resources.StateMachineARN, sc.aborts) }()
	eventsDone := make(chan localrun.DeliveryStats, 1)
	go func() { eventsDone <- deliverEvents(cctx, st, sc.events) }()

	// The faults with an end; faultsOver closes when all of them are over.
	var faults sync.WaitGroup
	var faultErrs []error
	var faultMu sync.Mutex
	fault := func(fn func() error) {
		faults.Add(1)
		go func() {
			defer faults.Done()
			if err := fn(); err != nil {
				faultMu.Lock()
				defer faultMu.Unlock()
				faultErrs = append(faultErrs, err)
			}
		}()
	}
	fault(func() error { phases.run(cctx, cloud.Bedrock()); return nil })
	fault(func() error {
		f.redelivered = redeliver(cctx, st, originals[:min(sc.redeliver, len(originals))])
		return nil
	})
	if sc.late > 0 {
		fault(func() error {
			time.Sleep(4 * time.Second)
			if err := writeLate(cctx, st, parts[0], sc.late); err != nil || !sc.overlap {
				return err
			}
			f.overlaps++
			_, err := discoverTwice(cctx, st, []string{parts[0].String()})
			return err
		})
	}
	if sc.lowerLimit > 0 {
		fault(func() error {
			time.Sleep(5 * time.Second)
			var err error
			f.lowPeak, err = changeLimit(cctx, st, sc.lowerLimit, sc.limitHold, sc.limitHold/3)
			return err
		})
	}
	retryPub := 0
	if sc.operatorRetry {
		fault(func() error {
			var err error
			retryPub, err = operatorRetry(cctx, st, phases.failing)
			return err
		})
	}
	// The lost answers last until some of each kind were lost (jobs/100, at least one).
	fault(func() error {
		least := max(1, sc.jobs/100)
		for (sc.lostMarks > 0 && marked.Lost() < least) || (sc.lostAcquires > 0 && acquired.Lost() < least) {
			select {
			case <-cctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		return nil
	})
	faultsOver := make(chan struct{})
	go func() {
		faults.Wait()
		marked.Stop()
		acquired.Stop()
		close(faultsOver)
	}()

	orph := newOrphans()
	jobs, peak, faultsEnd := waitFinal(t, st, sfnc, sc, begin, faultsOver, msgs, orph)
	f.quiescence = time.Since(faultsEnd)
	cancel()
	stop()
	for _, err := range faultErrs {
		t.Error("fault injection: ", err)
	}
	f.aborted = <-aborted
	f.events = <-eventsDone
	// What EventBridge and the schedule would still deliver, once more.
	if _, err := st.NewStatusEvents().Poll(ctx); err != nil {
		t.Errorf("status events: %v", err)
	}
	if _, err := st.Cleanup.Sweep(ctx); err != nil {
		t.Errorf("sweep: %v", err)
	}
	f.wall = time.Since(begin)
	if f.quiescence > sc.settle {
		t.Errorf("the last job ended %v after the faults stopped, bound %v", f.quiescence.Round(time.Second), sc.settle)
	}

	checkJobs(t, st, jobs)
	checkSlots(t, st)
	f.orphanLongest, f.orphanRows, f.gatedLongest = orph.check(t, orphanBound)
	overlaps, crashes := mon.report()
	for _, o := range overlaps {
		t.Error("two executions at once: ", o)
	}
	calls := cloud.Bedrock().Calls()
	checkNoResend(t, mon, calls)
	if n, err := st.DLQDepth(ctx); err != nil || n != 0 {
		t.Errorf("dead-letter queue: %d messages (%v), want 0", n, err)
	}
	f.exists = checkExists(t, exists(), requeues)
	resetAt := map[string]int{}
	if sc.operatorRetry {
		resetAt[phases.failing] = retryPub
		checkRetried(t, jobs, phases.failing, retryPub)
	}
	f.executions, f.attempts = checkAttemptsExact(t, sfnc, st.Resources.StateMachineARN, jobs, resetAt)
	f.crashes, f.duplicates, f.peakSlots = crashes, duplicates, peak
	f.lostMarks, f.lostAcquires, f.outageCalls, f.hung, f.sent = marked.Lost(), acquired.Lost(), phases.outageCalls, hungCalls(calls), msgs.sent
	if sc.lostMarks > 0 && f.lostMarks == 0 || sc.lostAcquires > 0 && f.lostAcquires == 0 {
		t.Errorf("lost acknowledgements injected: %d marks, %d acquires; want some of each", f.lostMarks, f.lostAcquires)
	}
	report(t, sc, jobs, calls, executionsOf(t, sfnc, st.Resources.StateMachineARN), f)
}

// orphanBound is the longest a row may go without a carrier: the reaper's bound and
// two sweeps, with room for a loaded machine.
const orphanBound = stuckAfter + 2*5*time.Second + 40*time.Second

// checkRetried: the job the operator retried ran again under the retry's publication
// and failed again, for good, with a reason.
func checkRetried(t *testing.T, jobs []status.Job, id string, retryPub int) {
	t.Helper()
	for _, j := range jobs {
		if j.ID != id {
			continue
		}
		if retryPub == 0 || j.Overall != contract.StatusPermanentlyFailed || j.Publication < retryPub || j.Attempts == 0 || j.LastError == nil {
			t.Errorf("retried job %s: %s at publication %d with %d attempts (retry at publication %d), want PERMANENTLY_FAILED again after attempting", j.ID, j.Overall, j.Publication, j.Attempts, retryPub)
		}
		return
	}
	t.Errorf("retried job %s not found", id)
}

// deliverEvents stands in for the EventBridge rule until ctx ends, delivering as d
// says, and returns what the delivery did.
func deliverEvents(ctx context.Context, st *localrun.Stack, d localrun.Delivery) localrun.DeliveryStats {
	ev := st.NewStatusEventsWith(d)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ev.Stats()
		case <-tick.C:
			_, _ = ev.Poll(ctx) // a failed delivery is tried again on the next poll
		}
	}
}

// stuckAfter is the reaper's bound in the chaos runs: short, so what no signal reports
// is found within the run.
const stuckAfter = 20 * time.Second

// strand writes a partition of n more jobs and runs a discovery over it that dies
// between marking the jobs QUEUED and publishing them: the SQS call cancels the run,
// as a timeout or a Ctrl-C of `enrichctl backfill` would. It returns n.
func strand(t *testing.T, st *localrun.Stack, n int) int {
	t.Helper()
	if n == 0 {
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := st.Settings
	part := sample.Partitions(time.Now().UTC().Add(-48*time.Hour), 1)
	if _, err := sample.WritePartitions(ctx, s3.NewFromConfig(st.Config), s.SilverBucket, s.SilverPrefix, part, n, 11); err != nil {
		t.Fatal(err)
	}
	cfg := st.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("crash", func(c context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if _, ok := in.Parameters.(*sqs.SendMessageBatchInput); ok {
				cancel()
				return middleware.InitializeOutput{}, middleware.Metadata{}, context.Canceled
			}
			return next.HandleInitialize(c, in)
		}), middleware.After)
	})
	h := discover.New(cfg, discover.Options{
		SilverBucket: s.SilverBucket, SilverPrefix: s.SilverPrefix, BronzeBucket: s.BronzeBucket,
		StatusTable: st.Names.StatusTable, QueueURL: st.Resources.QueueURL, MaxPartitions: 1, MaxJobs: n,
		MaxAttempts: s.MaxAttempts, MessageGroups: s.MessageGroups, CursorKey: contract.DefaultCursorKeyName,
	}, slog.New(slog.DiscardHandler), metrics.New(io.Discard, contract.MetricsNamespace))
	if _, err := h.Handle(ctx, discover.Event{Partitions: []string{part[0].String()}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stranding discovery ended with %v, want it cancelled while publishing", err)
	}
	store := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable)
	queued, err := store.Count(context.Background(), contract.StatusQueued)
	if err != nil || queued < n {
		t.Fatalf("%d QUEUED rows after the crash (%v), want at least %d", queued, err, n)
	}
	return n
}

// endBeforeClaim starts the execution of each message's publication with an input
// the claim cannot use, so it fails before claiming its QUEUED job; the message then
// finds its execution existing and closed.
func endBeforeClaim(t *testing.T, st *localrun.Stack, msgs []events.SQSMessage) {
	t.Helper()
	c := sfn.NewFromConfig(st.Config)
	for _, m := range msgs {
		var qm contract.QueueMessage
		if err := json.Unmarshal([]byte(m.Body), &qm); err != nil {
			t.Fatal(err)
		}
		name := contract.PublicationName(qm.Job.JobPostingID, qm.Publication)
		in, _ := json.Marshal(map[string]any{"job_data": qm.Job, "force": false}) // no publication: the claim fails
		if _, err := c.StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(st.Resources.StateMachineARN), Name: aws.String(name), Input: aws.String(string(in)),
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// peek reads up to n messages of the queue without consuming them, so the test can
// deliver them again or publish copies. ReceiveMessage cannot ask for a zero
// visibility timeout: the SDK leaves an optional int32 of 0 out of the request, so the
// queue's own timeout would hide each peeked message for minutes (issue 11 T6).
// ChangeMessageVisibility always sends its required timeout, so every peeked message
// is made visible again at once.
func peek(t *testing.T, q *sqs.Client, url string, n int) []events.SQSMessage {
	t.Helper()
	var out []events.SQSMessage
	seen := map[string]bool{}
	for tries := 0; len(out) < n && tries < 10; tries++ {
		r, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		reveal(t, q, url, r.Messages)
		for _, m := range r.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] && len(out) < n {
				seen[id] = true
				out = append(out, events.SQSMessage{
					MessageId: "redelivery-" + id, ReceiptHandle: aws.ToString(m.ReceiptHandle),
					Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs",
				})
			}
		}
	}
	return out
}

// reveal makes received messages visible again.
func reveal(t *testing.T, q *sqs.Client, url string, msgs []sqstypes.Message) {
	t.Helper()
	if len(msgs) == 0 {
		return
	}
	entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}
	}
	out, err := q.ChangeMessageVisibilityBatch(context.Background(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("make peeked messages visible: %v %+v", err, out)
	}
}

// publishDuplicates sends each message again under a new deduplication id, twice:
// SQS drops the second copy, the first starts a second execution of the job.
func publishDuplicates(t *testing.T, q *sqs.Client, url string, msgs []events.SQSMessage) int {
	t.Helper()
	for _, m := range msgs {
		for range 2 {
			if _, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{
				QueueUrl: aws.String(url), MessageBody: aws.String(m.Body),
				MessageGroupId:         aws.String(m.Attributes["MessageGroupId"]),
				MessageDeduplicationId: aws.String("chaos-" + m.MessageId),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(msgs)
}

// redeliver hands the original messages to InvokeEnrichment again, as an at-least-once
// queue may, at two moments of the run. It returns the number of deliveries.
func redeliver(ctx context.Context, st *localrun.Stack, msgs []events.SQSMessage) int {
	n := 0
	for _, after := range []time.Duration{3 * time.Second, 15 * time.Second} {
		if len(msgs) == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(after):
		}
		if _, err := st.Invoke().Handle(ctx, events.SQSEvent{Records: msgs}); err == nil {
			n += len(msgs)
		}
	}
	return n
}

// abort stops one running execution every few seconds until n are stopped or ctx
// ends, and returns how many it stopped.
func abort(ctx context.Context, c *sfn.Client, stateMachineARN string, n int) int {
	stopped := 0
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for stopped < n {
		select {
		case <-ctx.Done():
			return stopped
		case <-tick.C:
		}
		out, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{
			StateMachineArn: aws.String(stateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 20,
		})
		if err != nil || len(out.Executions) == 0 {
			continue
		}
		// Not always the oldest: some are waiting for a slot, some inside a pass.
		x := out.Executions[stopped%len(out.Executions)]
		if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: x.ExecutionArn, Cause: aws.String("chaos test")}); err == nil {
			stopped++
		}
	}
	return stopped
}

// final reports whether the job reached an end state of the liveness invariant:
// COMPLETED, or PERMANENTLY_FAILED (with a reason, checkJobs). A FAILED job with its
// budget spent would be a state nothing leaves; the lifecycle has none.
func final(j status.Job) bool {
	return j.Overall == contract.StatusCompleted || j.Overall == contract.StatusPermanentlyFailed
}

// waitFinal polls until the faults are over, every job is final, no execution runs
// and no slot is held, watching the rows without a carrier meanwhile. It returns
// the jobs, the peak slot count and when the faults ended.
func waitFinal(t *testing.T, st *localrun.Stack, c *sfn.Client, sc scenario, begin time.Time, faultsOver <-chan struct{}, msgs *messages, orph *orphans) (jobs []status.Job, peak int, faultsEnd time.Time) {
	t.Helper()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(st.Config)
	store, sem := status.New(db, st.Names.StatusTable), semaphore.New(db, st.Names.SemaphoreTable)
	q := sqs.NewFromConfig(st.Config)
	for polls := 1; time.Since(begin) < sc.timeout; polls++ {
		time.Sleep(2 * time.Second)
		if faultsEnd.IsZero() {
			select {
			case <-faultsOver:
				faultsEnd = time.Now()
			default:
			}
		}
		jobs = allJobs(t, store)
		running := runningExecutions(t, c, st.Resources.StateMachineARN)
		orph.look(jobs, msgs, running, queueDepth(t, q, st.Resources.QueueURL), time.Now())
		if polls%15 == 0 {
			t.Logf("%v: %v", time.Since(begin).Round(time.Second), countBy(jobs, func(j status.Job) string { return j.Overall }))
		}
		slots, err := sem.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, slots.Count)
		if slots.Count > sc.concurrency || len(slots.Holders) > sc.concurrency {
			t.Errorf("semaphore count %d with %d holders over the limit %d", slots.Count, len(slots.Holders), sc.concurrency)
		}
		done := 0
		for _, j := range jobs {
			if final(j) {
				done++
			}
		}
		if faultsEnd.IsZero() || done < sc.jobs || slots.Count != 0 || len(slots.Holders) != 0 || len(running) != 0 {
			continue
		}
		return jobs, peak, faultsEnd
	}
	t.Fatalf("after %v: jobs %v", sc.timeout, countBy(jobs, func(j status.Job) string { return j.Overall }))
	return nil, 0, faultsEnd
}

func allJobs(t *testing.T, store *status.Store) []status.Job {
	t.Helper()
	var jobs []status.Job
	for _, overall := range status.Overall {
		list, err := store.ListByStatus(context.Background(), overall, 0)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, list...)
	}
	return jobs
}

// checkJobs: every job is COMPLETED with its three Bronze results, or failed with a
// reason stored.
func checkJobs(t *testing.T, st *localrun.Stack, jobs []status.Job) {
	t.Helper()
	s3c := s3.NewFromConfig(st.Config)
	for _, j := range jobs {
		switch {
		case j.Overall == contract.StatusCompleted:
			for _, p := range contract.Passes {
				rec, ok := j.Passes[p]
				if !ok || rec.BronzeKey == "" {
					t.Errorf("job %s COMPLETED without a Bronze key for %s", j.ID, p)
					continue
				}
				if _, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(st.Settings.BronzeBucket), Key: aws.String(rec.BronzeKey)}); err != nil {
					t.Errorf("job %s %s: Bronze %s: %v", j.ID, p, rec.BronzeKey, err)
				}
			}
		case j.LastError == nil:
			t.Errorf("job %s ended %s with no reason stored", j.ID, j.Overall)
		}
		if j.Execution != "" && j.Overall != contract.StatusCompleted {
			t.Errorf("job %s ended %s still claimed by %s", j.ID, j.Overall, j.Execution)
		}
	}
}

func checkSlots(t *testing.T, st *localrun.Stack) {
	t.Helper()
	slots, err := semaphore.New(dynamodb.NewFromConfig(st.Config), st.Names.SemaphoreTable).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slots.Count != 0 || len(slots.Holders) != 0 {
		t.Errorf("after cleanup: semaphore count %d, holders %v; want 0 and none", slots.Count, slots.Holders)
	}
}

// checkNoResend: once a pass's Bronze result existed, the model answered no later
// call for that job and pass (no run uses force).
func checkNoResend(t *testing.T, mon *monitor, calls []bedrockemu.Call) {
	t.Helper()
	for _, c := range calls {
		if c.Outcome != "ok" {
			continue
		}
		if at, ok := mon.firstStored(c.Job, c.Pass); ok && c.At.After(at) {
			t.Errorf("job %s %s answered by the model at %v, after its Bronze result was stored at %v", c.Job, c.Pass, c.At.Format(time.StampMilli), at.Format(time.StampMilli))
		}
	}
}

// executionsOf lists every execution's status by job (the name is job-{id}-{nonce}).
func executionsOf(t *testing.T, c *sfn.Client, arn string) map[string][]sfntypes.ExecutionStatus {
	t.Helper()
	out := map[string][]sfntypes.ExecutionStatus{}
	for _, x := range listExecutions(t, c, arn, "") {
		job, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(x.Name), "job-"), "-")
		out[job] = append(out[job], x.Status)
	}
	return out
}

// listExecutions lists the state machine's executions of a status ("": all).
func listExecutions(t *testing.T, c *sfn.Client, arn string, status sfntypes.ExecutionStatus) []sfntypes.ExecutionListItem {
	t.Helper()
	var out []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: status})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Executions...)
	}
	return out
}

// figures are what the chaos did, besides the model's faults.
type figures struct {
	crashes, aborted, redelivered, duplicates, peakSlots int
	lostMarks, lostAcquires, overlaps, outageCalls, hung int
	lowPeak, sent, executions, attempts, orphanRows      int
	events                                               localrun.DeliveryStats
	exists                                               map[string]int
	orphanLongest, gatedLongest, quiescence, wall        time.Duration
}

// report logs the run's figures as the rows of docs/reliability.md.
func report(t *testing.T, sc scenario, jobs []status.Job, calls []bedrockemu.Call, execs map[string][]sfntypes.ExecutionStatus, f figures) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\n| jobs | %d (concurrency %d, model latency %v, quota %d rpm, 503 rate %.0f%%) |\n", sc.jobs, sc.concurrency, sc.faults.Latency, sc.faults.RequestsPerMinute, 100*sc.faults.ErrorRate)
	fmt.Fprintf(&b, "| jobs by final status | %s |\n", format(countBy(jobs, func(j status.Job) string { return j.Overall })))
	fmt.Fprintf(&b, "| attempts per job | %s |\n", format(countBy(jobs, func(j status.Job) string { return fmt.Sprint(j.Attempts) })))
	fmt.Fprintf(&b, "| reasons of failed jobs | %s |\n", format(countBy(jobs, func(j status.Job) string {
		if j.Overall == contract.StatusCompleted || j.LastError == nil {
			return ""
		}
		return j.LastError.Step + " " + j.LastError.Error
	})))
	fmt.Fprintf(&b, "| model calls by outcome | %s |\n", format(countBy(calls, func(c bedrockemu.Call) string { return c.Outcome })))
	byStatus, total := map[string]int{}, 0
	for _, list := range execs {
		for _, st := range list {
			byStatus[string(st)]++
			total++
		}
	}
	fmt.Fprintf(&b, "| executions | %d: %s |\n| executions past StartAttempt, not taken back (= attempts) | %d |\n", total, format(byStatus), f.attempts)
	fmt.Fprintf(&b, "| handler crashes | %d |\n| aborted executions | %d |\n| redelivered messages | %d |\n| duplicate publications | %d |\n", f.crashes, f.aborted, f.redelivered, f.duplicates)
	fmt.Fprintf(&b, "| stranded (mark, no publish) / ended before claim / late jobs | %d / %d / %d |\n", sc.stranded, sc.stoppedBeforeClaim, sc.late)
	fmt.Fprintf(&b, "| lost acknowledgements: QUEUED marks / AcquireSlot | %d / %d |\n| overlapping discovery pairs | %d |\n", f.lostMarks, f.lostAcquires, f.overlaps)
	fmt.Fprintf(&b, "| status-change events: ended / lost / duplicated / late | %d / %d / %d / %d |\n", f.events.Ended, f.events.Lost, f.events.Duplicated, f.events.Late)
	fmt.Fprintf(&b, "| model outage %v: calls refused / brown-out %v: calls hung to the read timeout | %d / %d |\n", sc.outage, sc.brownout, f.outageCalls, f.hung)
	fmt.Fprintf(&b, "| limit %d → %d → %d: peak slots once the lower limit applied | %d |\n", sc.concurrency, sc.lowerLimit, sc.concurrency, f.lowPeak)
	fmt.Fprintf(&b, "| ExecutionAlreadyExists answers | %s |\n", format(f.exists))
	fmt.Fprintf(&b, "| rows without a carrier for a while / longest / longest wait behind the backlog gate | %d / %v / %v |\n", f.orphanRows, f.orphanLongest.Round(time.Second), f.gatedLongest.Round(time.Second))
	fmt.Fprintf(&b, "| queue messages sent | %d |\n", f.sent)
	fmt.Fprintf(&b, "| peak slots in use | %d |\n| faults end to quiescence | %v |\n| wall time | %v |\n", f.peakSlots, f.quiescence.Round(time.Second), f.wall.Round(time.Second))
	t.Log(b.String())
}

func countBy[T any](items []T, key func(T) string) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		if k := key(it); k != "" {
			out[k]++
		}
	}
	return out
}

func format(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// hash spreads job ids deterministically.
func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
