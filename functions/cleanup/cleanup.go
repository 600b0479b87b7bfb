// Package cleanup is CleanupLocks: it gives back semaphore slots and job claims that
// ended executions left behind, and repairs the semaphore count. It runs on a Step
// Functions status-change event (one execution) and on a schedule (a sweep).
package cleanup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/queue"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	jobstatus "github.com/aienrichment/ai-enrichment/functions/status"
)

// Handler is the CleanupLocks Lambda handler.
type Handler struct {
	sfn       *sfn.Client
	db        *dynamodb.Client
	store     *jobstatus.Store
	publisher *queue.Publisher
	sem       *semaphore.Semaphore
	opts      Options
	log       *slog.Logger
	metrics   *metrics.Emitter
	now       func() time.Time
}

// New builds the handler.
func New(cfg aws.Config, opts Options, log *slog.Logger, m *metrics.Emitter) *Handler {
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = opts.LockTimeout
	}
	db := dynamodb.NewFromConfig(cfg)
	return &Handler{
		sfn:       sfn.NewFromConfig(cfg),
		db:        db,
		store:     jobstatus.New(db, opts.StatusTable),
		publisher: queue.NewPublisher(sqs.NewFromConfig(cfg), opts.QueueURL, opts.MessageGroups),
		sem:       semaphore.New(db, opts.SemaphoreTable),
		opts:      opts,
		log:       log,
		metrics:   m,
		now:       time.Now,
	}
}

// Result counts what one run did.
type Result struct {
	Mode           string `json:"mode"` // "event", "sweep" or "ignored"
	Checked        int    `json:"checked"`
	Running        int    `json:"running"`         // holders left alone because their execution runs
	Released       int    `json:"released"`        // slots given back
	ClaimsReleased int    `json:"claims_released"` // rows of ended executions settled
	Requeued       int    `json:"requeued"`        // of which handed to a new message
	Stuck          int    `json:"stuck"`           // non-terminal rows found without a live execution (sweep only)
	Kept           int    `json:"kept"`            // unknown holders younger than the lock timeout
	Errors         int    `json:"errors"`
	Drift          int    `json:"drift"` // count - holders before the repair (sweep only)
}

// statusChange is the part of an EventBridge event this handler reads.
type statusChange struct {
	DetailType string `json:"detail-type"`
	Detail     struct {
		ExecutionArn    string  `json:"executionArn"`
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Status          string  `json:"status"`
		Input           *string `json:"input"`
	} `json:"detail"`
}

const detailTypeStatusChange = "Step Functions Execution Status Change"

// Handle runs on a status-change event, and sweeps on anything else (the scheduled
// event, or a manual invoke with `{}`).
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (Result, error) {
	var ev statusChange
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &ev); err != nil {
			return Result{}, fmt.Errorf("decode event: %w", err)
		}
	}
	if ev.DetailType != detailTypeStatusChange {
		return h.Sweep(ctx)
	}
	d := ev.Detail
	res := Result{Mode: "event", Checked: 1}
	if d.StateMachineArn != h.opts.StateMachineARN || !forwarded(sfntypes.ExecutionStatus(d.Status)) {
		res.Mode = "ignored"
		h.log.InfoContext(ctx, "status change ignored", "execution", d.Name, "status", d.Status, "state_machine", d.StateMachineArn)
		return res, nil
	}
	input := ""
	if d.Input != nil {
		input = *d.Input
	}
	if err := h.releaseEnded(ctx, d.Name, sfntypes.ExecutionStatus(d.Status), input, &res); err != nil {
		res.Errors++
		return res, err // the asynchronous invoke is retried
	}
	h.log.InfoContext(ctx, "cleanup done", "result", res)
	return res, nil
}

// ForwardedStatuses are the end states the stack's EventBridge rule sends here: every
// end, SUCCEEDED included, since a success whose ReleaseSlot failed still holds its
// slot (the sweep would release it, up to a schedule period later).
var ForwardedStatuses = []sfntypes.ExecutionStatus{
	sfntypes.ExecutionStatusSucceeded, sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted,
}

func forwarded(s sfntypes.ExecutionStatus) bool { return slices.Contains(ForwardedStatuses, s) }

// StatusUnknown stands for an execution Step Functions does not know (expired or
// never started).
const StatusUnknown sfntypes.ExecutionStatus = "UNKNOWN"

// Releasable is the sweep's rule for a slot held for held by an execution in status:
// a running (or redriving) execution never loses it, an ended one always does, an
// unknown one once it is older than the lock timeout. `enrichctl reconcile` shows it.
func Releasable(status sfntypes.ExecutionStatus, held, lockTimeout time.Duration) bool {
	switch status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		return false
	case StatusUnknown:
		return held >= lockTimeout
	}
	return true
}

// releaseEnded gives back the slot of an ended execution and settles the job row it
// left behind (settle). Both are conditional, so a repeated event changes nothing.
func (h *Handler) releaseEnded(ctx context.Context, execution string, status sfntypes.ExecutionStatus, input string, res *Result) error {
	released, err := h.sem.Release(ctx, execution)
	if err != nil {
		return err
	}
	if released {
		res.Released++
		h.log.InfoContext(ctx, "slot released", "execution", execution, "status", string(status))
	}
	if status == sfntypes.ExecutionStatusSucceeded {
		return nil // a succeeded execution settled its row itself
	}
	jobID := jobOf(execution, input)
	if jobID == "" {
		h.log.WarnContext(ctx, "no job id in execution name or input; row left alone", "execution", execution)
		return nil
	}
	j, err := h.store.Get(ctx, jobID)
	if errors.Is(err, jobstatus.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.settle(ctx, j, execution, status, res)
}

// jobOf finds the job id in the execution input, or else in the name `job-{id}-…`.
func jobOf(execution, input string) string {
	var in contract.ExecutionInput
	if json.Unmarshal([]byte(input), &in) == nil && contract.ValidateJobID(in.JobData.JobPostingID) == nil {
		return in.JobData.JobPostingID
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(execution, "job-"), "-")
	if !strings.HasPrefix(execution, "job-") || contract.ValidateJobID(id) != nil {
		return ""
	}
	return id
}

// Outcomes of settle, for logs and the stuck listing.
const (
	settledRequeued = "requeued"
	settledFailed   = "failed"
	settledGaveUp   = "permanently_failed"
)

// settle makes the row of a job whose execution ended without finishing it live
// again; the row is only touched if that execution is the one it waits for:
//   - QUEUED at the execution's publication (it ended before its claim) or PENDING
//     (it ended waiting for a slot): no attempt was counted, the job goes to a new
//     message (status.Requeue);
//   - IN_PROGRESS: the attempt was counted and failed: FAILED, retried by discovery
//     (status.Fail), or PERMANENTLY_FAILED after the last allowed one (status.GiveUp).
func (h *Handler) settle(ctx context.Context, j jobstatus.Job, execution string, st sfntypes.ExecutionStatus, res *Result) error {
	outcome, err := h.settleRow(ctx, j, execution, st)
	if errors.Is(err, jobstatus.ErrConflict) || outcome == "" {
		return nil // the row moved on meanwhile, or belongs to another execution
	}
	if err != nil {
		return err
	}
	res.ClaimsReleased++
	if outcome == settledRequeued {
		res.Requeued++
	}
	h.log.InfoContext(ctx, "job settled", "job_posting_id", j.ID, "execution", execution, "execution_status", string(st), "was", j.Overall, "outcome", outcome)
	return nil
}

func (h *Handler) settleRow(ctx context.Context, j jobstatus.Job, execution string, st sfntypes.ExecutionStatus) (string, error) {
	switch {
	case j.Overall == contract.StatusQueued && j.Execution == "" && execution == contract.PublicationName(j.ID, j.Publication),
		j.Overall == contract.StatusPending && j.Execution == execution:
		_, err := h.publisher.Requeue(ctx, h.store, j, h.now())
		return settledRequeued, err
	case j.Overall == contract.StatusInProgress && j.Execution == execution:
		detail, err := json.Marshal(map[string]string{
			"Error": "Execution" + string(st),
			"Cause": fmt.Sprintf("execution %s ended %s without settling its job; settled by CleanupLocks", execution, st),
		})
		if err != nil {
			return "", fmt.Errorf("encode failure detail: %w", err)
		}
		t, outcome := jobstatus.Fail, settledFailed
		if j.Attempts >= h.opts.MaxAttempts {
			t, outcome = jobstatus.GiveUp, settledGaveUp
		}
		_, err = h.store.Apply(ctx, t, j.ID, map[string]dbtypes.AttributeValue{
			":err": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
				contract.AttrErrorStep: jobstatus.S(cleanupStep), contract.AttrErrorDetail: jobstatus.S(string(detail)),
			}},
			":now": jobstatus.S(jobstatus.Timestamp(h.now())), ":exec": jobstatus.S(execution), ":max": jobstatus.N(h.opts.MaxAttempts),
		})
		return outcome, err
	}
	return "", nil
}

// cleanupStep is the lastError step of a failure recorded by CleanupLocks.
const cleanupStep = "cleanup"

// Sweep checks every holder: a RUNNING (or redriving) execution keeps its slot, an
// ended one loses it, an unknown one loses it once older than the lock timeout. It
// then repairs the count and emits the drift and slots-in-use metrics.
func (h *Handler) Sweep(ctx context.Context) (Result, error) {
	res := Result{Mode: "sweep"}
	st, err := h.sem.Read(ctx)
	if err != nil {
		return res, err
	}
	for _, holder := range st.Holders {
		res.Checked++
		if err := h.sweepHolder(ctx, holder, &res); err != nil {
			res.Errors++
			h.log.ErrorContext(ctx, "sweep holder", "execution", holder.Execution, "error", err.Error())
		}
	}
	_, oldest, err := h.Reap(ctx, true, &res)
	if err != nil {
		return res, err
	}
	drift, err := h.sem.Reconcile(ctx, true)
	if err != nil {
		return res, err
	}
	res.Drift = drift
	if drift != 0 {
		h.log.WarnContext(ctx, "semaphore count drift repaired", "drift", drift)
	}
	if err := h.metrics.Emit(map[string]string{"Stack": h.opts.Stack}, map[string]any{"drift_signed": drift},
		metrics.Metric{Name: contract.MetricSemaphoreDrift, Value: float64(abs(drift)), Unit: metrics.Count},
		metrics.Metric{Name: contract.MetricSlotsReleased, Value: float64(res.Released), Unit: metrics.Count},
		metrics.Metric{Name: contract.MetricSlotsInUse, Value: float64(len(st.Holders) - res.Released), Unit: metrics.Count},
		metrics.Metric{Name: contract.MetricStuckJobs, Value: float64(res.Stuck), Unit: metrics.Count},
		metrics.Metric{Name: contract.MetricOldestJobAge, Value: oldest.Seconds(), Unit: metrics.Seconds},
		metrics.Metric{Name: contract.MetricJobsRequeued, Value: float64(res.Requeued), Unit: metrics.Count},
	); err != nil {
		h.log.WarnContext(ctx, "emit metrics", "error", err.Error())
	}
	h.log.InfoContext(ctx, "cleanup done", "result", res)
	return res, nil
}

func (h *Handler) sweepHolder(ctx context.Context, holder semaphore.Holder, res *Result) error {
	arn, err := ExecutionARN(h.opts.StateMachineARN, holder.Execution)
	if err != nil {
		return err
	}
	out, err := h.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	status, input := StatusUnknown, ""
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case err == nil:
		status, input = out.Status, aws.ToString(out.Input)
	case !errors.As(err, &missing):
		return fmt.Errorf("describe execution %s: %w", arn, err)
	}
	if !Releasable(status, h.now().Sub(holder.AcquiredAt), h.opts.LockTimeout) {
		if status == StatusUnknown {
			res.Kept++ // too young to call an orphan
		} else {
			res.Running++
		}
		return nil
	}
	return h.releaseEnded(ctx, holder.Execution, status, input, res)
}

// ExecutionARN builds the ARN of a named execution of a state machine.
func ExecutionARN(stateMachineARN, name string) (string, error) {
	const marker = ":stateMachine:"
	i := strings.Index(stateMachineARN, marker)
	if i < 0 || name == "" {
		return "", fmt.Errorf("cannot build an execution ARN from %q and %q", stateMachineARN, name)
	}
	return stateMachineARN[:i] + ":execution:" + stateMachineARN[i+len(marker):] + ":" + name, nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
