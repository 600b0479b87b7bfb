package cleanup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	jobstatus "github.com/aienrichment/ai-enrichment/functions/status"
)

// reapLimit bounds the rows one sweep examines per status.
const reapLimit = 500

// nonTerminal are the statuses a job must leave by itself.
var nonTerminal = []string{contract.StatusQueued, contract.StatusPending, contract.StatusInProgress}

// Stuck is a non-terminal row older than the bound with no live execution: why it is
// stuck and what its expected execution is.
type Stuck struct {
	Job       jobstatus.Job
	Execution string                   // the execution the row waits for
	Status    sfntypes.ExecutionStatus // its status (StatusUnknown: never started or expired)
	Why       string
}

// Reap finds the non-terminal rows whose last transition is older than StuckAfter and
// whose expected execution is missing or closed, and settles them (settle): nothing
// waits on a status-change event. A QUEUED row without an execution may still have
// its message in the queue (a backlog). A row that records its sent publication
// (contract.AttrSent) says so: sent, it waits; marked but never sent, it is requeued.
// For a row that does not say, since every QUEUED row has at most one message, at
// least (QUEUED rows - messages in the queue) have none, and only that many of the
// oldest are requeued. It returns the stuck rows and the age of the
// oldest non-terminal row.
func (h *Handler) Reap(ctx context.Context, act bool, res *Result) ([]Stuck, time.Duration, error) {
	now := h.now()
	var stuck []Stuck
	var oldest time.Duration
	for _, st := range nonTerminal {
		if first, err := h.store.ListOlder(ctx, st, now, 1); err != nil {
			return nil, 0, err
		} else if len(first) == 1 {
			if at, err := time.Parse(time.RFC3339Nano, first[0].UpdatedAt); err == nil {
				oldest = max(oldest, now.Sub(at))
			}
		}
		rows, err := h.store.ListOlder(ctx, st, now.Add(-h.opts.StuckAfter), reapLimit)
		if err != nil {
			return nil, 0, err
		}
		found, err := h.stuckOf(ctx, st, rows)
		if err != nil {
			return nil, 0, err
		}
		stuck = append(stuck, found...)
	}
	res.Stuck = len(stuck)
	if !act {
		return stuck, oldest, nil
	}
	for _, s := range stuck {
		if err := h.settle(ctx, s.Job, s.Execution, s.Status, res); err != nil {
			res.Errors++
			h.log.ErrorContext(ctx, "reap", "job_posting_id", s.Job.ID, "error", err.Error())
		}
	}
	return stuck, oldest, nil
}

// stuckOf keeps the rows of one status whose expected execution is not running.
func (h *Handler) stuckOf(ctx context.Context, st string, rows []jobstatus.Job) ([]Stuck, error) {
	unaccounted := len(rows)
	if st == contract.StatusQueued && len(rows) > 0 {
		queued, err := h.store.Count(ctx, st)
		if err != nil {
			return nil, err
		}
		depth, err := h.publisher.Depth(ctx)
		if err != nil {
			return nil, err
		}
		unaccounted = max(0, queued-depth)
	}
	var out []Stuck
	for _, j := range rows {
		name := j.Execution
		if name == "" {
			name = contract.PublicationName(j.ID, j.Publication)
		}
		es, err := h.executionStatus(ctx, name)
		if err != nil {
			return nil, err
		}
		if es == sfntypes.ExecutionStatusRunning || es == sfntypes.ExecutionStatusPendingRedrive {
			continue
		}
		why := fmt.Sprintf("%s for over %s and its execution %s is %s", st, h.opts.StuckAfter, name, es)
		if es == StatusUnknown && st == contract.StatusQueued {
			switch {
			case j.SentKnown && j.Sent >= j.Publication:
				continue // its message was sent: it waits in the queue (or the DLQ, which pages)
			case j.SentKnown:
				why = fmt.Sprintf("QUEUED for over %s, publication %d marked but its message never sent", h.opts.StuckAfter, j.Publication)
			case unaccounted == 0:
				continue // its message may still be waiting in the queue
			default:
				unaccounted--
				why = fmt.Sprintf("QUEUED for over %s, no execution %s, and fewer messages in the queue than QUEUED rows", h.opts.StuckAfter, name)
			}
		}
		out = append(out, Stuck{Job: j, Execution: name, Status: es, Why: why})
	}
	return out, nil
}

// executionStatus is the status of the named execution, StatusUnknown when Step
// Functions does not know it.
func (h *Handler) executionStatus(ctx context.Context, name string) (sfntypes.ExecutionStatus, error) {
	arn, err := ExecutionARN(h.opts.StateMachineARN, name)
	if err != nil {
		return "", err
	}
	out, err := h.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return StatusUnknown, nil
	case err != nil:
		return "", fmt.Errorf("describe execution %s: %w", arn, err)
	}
	return out.Status, nil
}
