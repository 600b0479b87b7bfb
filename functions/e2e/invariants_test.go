package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
)

// carrier is what moves a job's row on: a message of its publication, visible or in
// flight, in the queue or the DLQ (SQS moves it there itself after maxReceiveCount),
// or a running execution of it.
type pub struct {
	job         string
	publication int
}

// messages follows every queue message through the gateway's answers: sent (by
// discovery, invoke, the state machine or the test), received, deleted. A message
// sent and not deleted is live. A copy SQS drops as a duplicate answers the
// original's message id, so it is not counted twice.
type messages struct {
	mu       sync.Mutex
	live     map[string]pub    // message id → publication
	receipts map[string]string // receipt handle → message id
	sent     int
}

func watchMessages(c *localcloud.Cloud) *messages {
	m := &messages{live: map[string]pub{}, receipts: map[string]string{}}
	c.ObserveAnswers("AmazonSQS.SendMessage", func(a localcloud.Answer) {
		var req struct{ MessageBody string }
		var out struct{ MessageId string }
		if a.Status == 200 && json.Unmarshal(a.Request, &req) == nil && json.Unmarshal(a.Body, &out) == nil {
			m.add(out.MessageId, req.MessageBody)
		}
	})
	c.ObserveAnswers("AmazonSQS.SendMessageBatch", func(a localcloud.Answer) {
		var req struct {
			Entries []struct{ Id, MessageBody string }
		}
		var out struct {
			Successful []struct{ Id, MessageId string }
		}
		if a.Status != 200 || json.Unmarshal(a.Request, &req) != nil || json.Unmarshal(a.Body, &out) != nil {
			return
		}
		body := map[string]string{}
		for _, e := range req.Entries {
			body[e.Id] = e.MessageBody
		}
		for _, s := range out.Successful {
			m.add(s.MessageId, body[s.Id])
		}
	})
	c.ObserveAnswers("AmazonSQS.ReceiveMessage", func(a localcloud.Answer) {
		var out struct {
			Messages []struct{ MessageId, ReceiptHandle string }
		}
		if a.Status == 200 && json.Unmarshal(a.Body, &out) == nil {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, msg := range out.Messages {
				m.receipts[msg.ReceiptHandle] = msg.MessageId
			}
		}
	})
	c.ObserveAnswers("AmazonSQS.DeleteMessage", func(a localcloud.Answer) {
		var req struct{ ReceiptHandle string }
		if a.Status == 200 && json.Unmarshal(a.Request, &req) == nil {
			m.deleted(req.ReceiptHandle)
		}
	})
	c.ObserveAnswers("AmazonSQS.DeleteMessageBatch", func(a localcloud.Answer) {
		var req struct {
			Entries []struct{ Id, ReceiptHandle string }
		}
		var out struct{ Successful []struct{ Id string } }
		if a.Status != 200 || json.Unmarshal(a.Request, &req) != nil || json.Unmarshal(a.Body, &out) != nil {
			return
		}
		handle := map[string]string{}
		for _, e := range req.Entries {
			handle[e.Id] = e.ReceiptHandle
		}
		for _, s := range out.Successful {
			m.deleted(handle[s.Id])
		}
	})
	return m
}

func (m *messages) add(id, body string) {
	var qm contract.QueueMessage
	if json.Unmarshal([]byte(body), &qm) != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent++
	m.live[id] = pub{qm.Job.JobPostingID, qm.Publication}
}

func (m *messages) deleted(receipt string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, m.receipts[receipt])
}

// carried returns the publications that have a live message.
func (m *messages) carried() map[pub]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[pub]bool{}
	for _, p := range m.live {
		out[p] = true
	}
	return out
}

// orphans watches the invariant "no row QUEUED, PENDING or IN_PROGRESS without a
// live message of its publication or a running execution holding its claim" over
// time: a row may be without a carrier for a moment (between a mark and its
// publication, between an execution's end and its settlement), but never for longer
// than the reaper's bound plus two sweeps. One wait is the reaper's documented rule
// (docs/operations.md, Known limitations): while the queue holds at least as many
// messages as there are QUEUED rows, a QUEUED row without an execution may have its
// message waiting, so it is not reaped; such a row is "gated", its wait is reported
// apart, and its clock starts when the reaper can account for it.
type orphans struct {
	since, gatedSince map[string]time.Time // job → first look at which it had no carrier
	worst, gatedWorst map[string]time.Duration
	status            map[string]string // job → status in its worst stretch
}

func newOrphans() *orphans {
	return &orphans{since: map[string]time.Time{}, gatedSince: map[string]time.Time{},
		worst: map[string]time.Duration{}, gatedWorst: map[string]time.Duration{}, status: map[string]string{}}
}

// look checks the rows against the live messages and the running executions. depth
// is the queue's: the reaper can account for only (QUEUED rows - depth) rows without
// a message, so while that is fewer than the QUEUED rows without a carrier, those
// rows are gated.
func (o *orphans) look(jobs []status.Job, msgs *messages, running map[string]bool, depth int, now time.Time) {
	carried := msgs.carried()
	has := func(j status.Job) bool {
		switch j.Overall {
		case contract.StatusQueued:
			return carried[pub{j.ID, j.Publication}] || running[contract.PublicationName(j.ID, j.Publication)]
		case contract.StatusPending, contract.StatusInProgress:
			return j.Execution != "" && running[j.Execution]
		}
		return true
	}
	queued, bare := 0, 0
	for _, j := range jobs {
		if j.Overall == contract.StatusQueued {
			queued++
			if !has(j) {
				bare++
			}
		}
	}
	gated := bare > 0 && queued-depth < bare
	for _, j := range jobs {
		if has(j) {
			delete(o.since, j.ID)
			delete(o.gatedSince, j.ID)
			continue
		}
		since, worst := o.since, o.worst
		if gated && j.Overall == contract.StatusQueued {
			delete(o.since, j.ID)
			since, worst = o.gatedSince, o.gatedWorst
		}
		if _, seen := since[j.ID]; !seen {
			since[j.ID] = now
		}
		if d := now.Sub(since[j.ID]); d >= worst[j.ID] {
			worst[j.ID] = d
			if since[j.ID] == o.since[j.ID] {
				o.status[j.ID] = j.Overall
			}
		}
	}
}

// check fails for every row that went without a carrier, outside the backlog gate,
// for longer than bound; it returns the longest such stretch, the rows that had one,
// and the longest wait under the gate.
func (o *orphans) check(t *testing.T, bound time.Duration) (longest time.Duration, rows int, gated time.Duration) {
	t.Helper()
	for id, d := range o.worst {
		longest = max(longest, d)
		rows++
		if d > bound {
			t.Errorf("job %s (%s) had no message, no running execution and no DLQ message for %v (bound %v)", id, o.status[id], d.Round(time.Second), bound)
		}
	}
	for _, d := range o.gatedWorst {
		gated = max(gated, d)
	}
	return longest, rows, gated
}

// queueDepth is the queue's messages, visible, in flight and delayed, as the reaper
// counts them (queue.Publisher.Depth).
func queueDepth(t *testing.T, q *sqs.Client, url string) int {
	t.Helper()
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}
	out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for _, n := range names {
		v, _ := strconv.Atoi(out.Attributes[string(n)])
		depth += v
	}
	return depth
}

func runningExecutions(t *testing.T, c *sfn.Client, arn string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, x := range listExecutions(t, c, arn, sfntypes.ExecutionStatusRunning) {
		out[aws.ToString(x.Name)] = true
	}
	return out
}

// existsAnswer is one StartExecution answered ExecutionAlreadyExists, with what the
// caller found when it acted on it.
type existsAnswer struct {
	name  string
	class string // running, settled, closed before its claim, closed holding its claim
}

// Classes of existsAnswer.
const (
	existsRunning        = "running"
	existsSettled        = "closed, the row moved on"
	existsBeforeClaim    = "closed before its claim, the row QUEUED at its publication"
	existsHoldingClaim   = "closed holding its claim"
	existsUnclassifiable = "unclassifiable"
)

// watchExists classifies every StartExecution answered ExecutionAlreadyExists by the
// execution's status and the job's row at that moment, before the caller gets the
// answer: "closed before its claim" is a job nothing else moves on, which the caller
// must not take for success.
func watchExists(c *localcloud.Cloud, st *localrun.Stack) (get func() []existsAnswer) {
	var mu sync.Mutex
	var out []existsAnswer
	sfnc := sfn.NewFromConfig(st.Config)
	store := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable)
	c.ObserveAnswers("AWSStepFunctions.StartExecution", func(a localcloud.Answer) {
		if a.ErrorType != "ExecutionAlreadyExists" {
			return
		}
		var req struct{ Name string }
		_ = json.Unmarshal(a.Request, &req)
		ans := existsAnswer{name: req.Name, class: existsUnclassifiable}
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			out = append(out, ans)
		}()
		job, p, ok := publicationOf(req.Name)
		arn, err := cleanup.ExecutionARN(st.Resources.StateMachineARN, req.Name)
		if !ok || err != nil {
			return
		}
		ctx := context.Background()
		d, err := sfnc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return
		}
		if d.Status == sfntypes.ExecutionStatusRunning {
			ans.class = existsRunning
			return
		}
		row, err := store.Get(ctx, job)
		switch {
		case err != nil:
		case row.Publication != p || final(row):
			ans.class = existsSettled
		case row.Overall == contract.StatusQueued && row.Execution == "":
			ans.class = existsBeforeClaim
		case row.Execution == req.Name:
			ans.class = existsHoldingClaim
		default:
			ans.class = existsSettled
		}
	})
	return func() []existsAnswer {
		mu.Lock()
		defer mu.Unlock()
		return append([]existsAnswer(nil), out...)
	}
}

// publicationOf parses a publication's execution name (contract.PublicationName).
func publicationOf(name string) (job string, publication int, ok bool) {
	rest, found := strings.CutPrefix(name, "job-")
	if !found {
		return "", 0, false
	}
	job, nonce, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(strings.TrimPrefix(nonce, "p"))
	if err != nil || !strings.HasPrefix(nonce, "p") || contract.PublicationName(job, n) != name {
		return "", 0, false
	}
	return job, n, true
}

// requeueLog collects the executions InvokeEnrichment logged as "ended before its
// claim: job requeued" (the handlers log JSON through the slog.Handler it is).
type requeueLog struct {
	mu    sync.Mutex
	names map[string]int
	attrs []slog.Attr
	root  *requeueLog
}

// requeuedMessage is InvokeEnrichment's log message for a message whose execution
// ended before its claim.
const requeuedMessage = "execution of this publication ended before its claim: job requeued"

func newRequeueLog() *requeueLog {
	l := &requeueLog{names: map[string]int{}}
	l.root = l
	return l
}

func (l *requeueLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *requeueLog) WithGroup(string) slog.Handler            { return l }
func (l *requeueLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &requeueLog{attrs: append(append([]slog.Attr(nil), l.attrs...), as...), root: l.root}
}
func (l *requeueLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != requeuedMessage {
		return nil
	}
	name := ""
	for _, a := range l.attrs {
		if a.Key == "execution" {
			name = a.Value.String()
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "execution" {
			name = a.Value.String()
		}
		return true
	})
	l.root.mu.Lock()
	defer l.root.mu.Unlock()
	l.root.names[name]++
	return nil
}

func (l *requeueLog) requeued(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names[name] > 0
}

// checkExists: no ExecutionAlreadyExists answered for an execution that closed before
// its claim was taken for success; every such answer was followed by a requeue.
func checkExists(t *testing.T, answers []existsAnswer, log *requeueLog) map[string]int {
	t.Helper()
	by := map[string]int{}
	for _, a := range answers {
		by[a.class]++
		if a.class == existsBeforeClaim && !log.requeued(a.name) {
			t.Errorf("StartExecution %s answered ExecutionAlreadyExists for an execution closed before its claim, and the job was not requeued", a.name)
		}
	}
	return by
}

// attempted reads an execution's history: did it get past StartAttempt (its attempt
// counted), and was that attempt taken back (DeferAttempt)? unsure marks an execution
// stopped between a write and its state's exit, whose write may or may not count.
type attempted struct {
	counted, unsure bool
}

func historyOf(t *testing.T, c *sfn.Client, arn string) attempted {
	t.Helper()
	entered, exited := map[string]bool{}, map[string]bool{}
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			switch {
			case ev.StateEnteredEventDetails != nil:
				entered[aws.ToString(ev.StateEnteredEventDetails.Name)] = true
			case ev.StateExitedEventDetails != nil:
				exited[aws.ToString(ev.StateExitedEventDetails.Name)] = true
			}
		}
	}
	in := func(s string) bool { return entered[s] && !exited[s] }
	return attempted{
		counted: exited[workflow.StateStartAttempt] && !exited[workflow.StateDeferAttempt],
		unsure:  in(workflow.StateStartAttempt) || in(workflow.StateDeferAttempt),
	}
}

// checkAttemptsExact: a job's attempts equal its executions that got past StartAttempt
// and were not taken back, since its last operator retry (which resets the count).
// It returns the number of executions read and of those that attempted.
func checkAttemptsExact(t *testing.T, c *sfn.Client, arn string, jobs []status.Job, resetAt map[string]int) (execs, attempts int) {
	t.Helper()
	type span struct{ lo, hi int }
	per := map[string]*span{}
	for _, x := range listExecutions(t, c, arn, "") {
		execs++
		job, n, ok := publicationOf(aws.ToString(x.Name))
		if !ok || n < resetAt[job] {
			continue
		}
		h := historyOf(t, c, aws.ToString(x.ExecutionArn))
		s := per[job]
		if s == nil {
			s = &span{}
			per[job] = s
		}
		switch {
		case h.unsure:
			s.hi++
		case h.counted:
			s.lo++
			s.hi++
			attempts++
		}
	}
	for _, j := range jobs {
		s := per[j.ID]
		if s == nil {
			s = &span{}
		}
		if j.Attempts < s.lo || j.Attempts > s.hi {
			t.Errorf("job %s %s counts %d attempts; its executions that got past StartAttempt: %d (up to %d)", j.ID, j.Overall, j.Attempts, s.lo, s.hi)
		}
	}
	return execs, attempts
}
