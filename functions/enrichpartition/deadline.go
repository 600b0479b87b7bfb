package enrichpartition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// AfterModelReserve is the time an invocation keeps after its model calls: the raw and
// JSON Bronze writes, the metrics line and the response. Every model call of a pass
// shares one deadline, the invocation's deadline minus this reserve, so a truncation
// retry after a slow first call can never outlive the Lambda (which would surface as
// an uncaught Lambda.Unknown instead of a named error the state machine handles).
const AfterModelReserve = 10 * time.Second

// modelContext bounds the model calls of one pass by the time the invocation has left.
// Without a deadline (a CLI run) the calls are bounded by the client's read timeout only.
func modelContext(ctx context.Context, now time.Time) (context.Context, context.CancelFunc, error) {
	end, ok := ctx.Deadline()
	if !ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, nil
	}
	modelEnd := end.Add(-AfterModelReserve)
	if !modelEnd.After(now) {
		return nil, nil, deadlineErr(end.Sub(now), 0)
	}
	ctx, cancel := context.WithDeadline(ctx, modelEnd)
	return ctx, cancel, nil
}

// modelErr names a failed call: ModelDeadline when the pass's model deadline ended it,
// else the llm kind.
func modelErr(modelCtx context.Context, err error, kind string, calls int) error {
	if errors.Is(err, context.DeadlineExceeded) && modelCtx.Err() != nil {
		return deadlineErr(AfterModelReserve, calls)
	}
	return &contract.Error{Name: kind, Message: err.Error()}
}

func deadlineErr(left time.Duration, calls int) error {
	return &contract.Error{Name: contract.ErrNameDeadline, Message: fmt.Sprintf(
		"the invocation's time ran out for the model after %d answered calls; %s kept for the Bronze writes", calls, left.Round(time.Second))}
}
