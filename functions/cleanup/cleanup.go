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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
)

// Handler is the CleanupLocks Lambda handler.
type Handler struct {
	sfn     *sfn.Client
	db      *dynamodb.Client
	sem     *semaphore.Semaphore
	opts    Options
	log     *slog.Logger
	metrics *metrics.Emitter
	now     func() time.Time
}

// New builds the handler.
func New(cfg aws.Config, opts Options, log *slog.Logger, m *metrics.Emitter) *Handler {
	db := dynamodb.NewFromConfig(cfg)
	return &Handler{
		sfn:     sfn.NewFromConfig(cfg),
		db:      db,
		sem:     semaphore.New(db, opts.SemaphoreTable),
		opts:    opts,
		log:     log,
		metrics: m,
		now:     time.Now,
	}
}

// Result counts what one run did.
type Result struct {
	Mode           string `json:"mode"` // "event", "sweep" or "ignored"
	Checked        int    `json:"checked"`
	Running        int    `json:"running"`         // holders left alone because their execution runs
	Released       int    `json:"released"`        // slots given back
	ClaimsReleased int    `json:"claims_released"` // job claims of ended executions cleared
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
	if d.StateMachineArn != h.opts.StateMachineARN || !failed(sfntypes.ExecutionStatus(d.Status)) {
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

// failed reports the end states in which the state machine may not have released
// its slot and claim itself.
func failed(s sfntypes.ExecutionStatus) bool {
	return s == sfntypes.ExecutionStatusFailed || s == sfntypes.ExecutionStatusTimedOut || s == sfntypes.ExecutionStatusAborted
}

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

// releaseEnded gives back the slot of an ended execution and, unless it succeeded,
// the job claim. Both are conditional, so a repeated event changes nothing.
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
		return nil
	}
	jobID := jobOf(execution, input)
	if jobID == "" {
		h.log.WarnContext(ctx, "no job id in execution name or input; claim left alone", "execution", execution)
		return nil
	}
	cleared, err := h.releaseClaim(ctx, jobID, execution, status)
	if err != nil {
		return err
	}
	if cleared {
		res.ClaimsReleased++
		h.log.InfoContext(ctx, "claim released", "execution", execution, "job_posting_id", jobID, "status", string(status))
	}
	return nil
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

// releaseClaim marks the job FAILED and removes its claim, only if the claim is still
// held by execution: a newer execution's claim is never touched. An execution that
// died before its attempt was counted (the claim still PENDING) gets it counted here,
// so the retry is published under a new execution name instead of colliding with the
// dead one.
func (h *Handler) releaseClaim(ctx context.Context, jobID, execution string, status sfntypes.ExecutionStatus) (bool, error) {
	for _, uncounted := range []bool{true, false} {
		cleared, err := h.clearClaim(ctx, jobID, execution, status, uncounted)
		if err != nil || cleared {
			return cleared, err
		}
	}
	return false, nil
}

// cleanupStep is the lastError step of a failure recorded by CleanupLocks.
const cleanupStep = "cleanup"

func (h *Handler) clearClaim(ctx context.Context, jobID, execution string, status sfntypes.ExecutionStatus, uncounted bool) (bool, error) {
	detail, err := json.Marshal(map[string]string{
		"Error": "Execution" + string(status),
		"Cause": fmt.Sprintf("execution %s ended %s without releasing its claim; released by CleanupLocks", execution, status),
	})
	if err != nil {
		return false, fmt.Errorf("encode failure detail: %w", err)
	}
	s := func(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }
	update, cond := "SET #s = :failed, #e = :err, #u = :now REMOVE #x", "#x = :exec"
	names := map[string]string{"#s": contract.AttrOverallStatus, "#e": contract.AttrLastError, "#u": contract.AttrUpdatedAt, "#x": contract.AttrExecution}
	values := map[string]dbtypes.AttributeValue{
		":failed": s(contract.StatusFailed),
		":err": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
			contract.AttrErrorStep: s(cleanupStep), contract.AttrErrorDetail: s(string(detail)),
		}},
		":now":  s(h.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")),
		":exec": s(execution),
	}
	if uncounted {
		update += " ADD #at :one"
		cond += " AND #s = :pending"
		names["#at"] = contract.AttrAttempts
		values[":one"] = &dbtypes.AttributeValueMemberN{Value: "1"}
		values[":pending"] = s(contract.StatusPending)
	}
	_, err = h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(h.opts.StatusTable),
		Key:                       map[string]dbtypes.AttributeValue{contract.StatusKey: s(jobID)},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *dbtypes.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	default:
		return false, fmt.Errorf("release claim of job %s by %s: %w", jobID, execution, err)
	}
}

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
