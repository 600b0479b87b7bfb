package localrun

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Progress is one look at the pipeline while it works.
type Progress struct {
	Total int
	// ByStatus counts the two terminal statuses, COMPLETED and PERMANENTLY_FAILED: each
	// look costs a query per status counted, against the moto that runs the jobs.
	ByStatus   map[string]int
	Done       int // COMPLETED or PERMANENTLY_FAILED: nothing more will happen to them
	SlotsInUse int
	PeakSlots  int
	Elapsed    time.Duration
}

// Wait polls the status table and the semaphore until total jobs are done (COMPLETED
// or PERMANENTLY_FAILED) and no slot is held, calling tick after every look.
func (st *Stack) Wait(ctx context.Context, total int, poll time.Duration, tick func(Progress)) (Progress, error) {
	db := dynamodb.NewFromConfig(st.Config)
	jobs := status.New(db, st.Names.StatusTable)
	sem := semaphore.New(db, st.Names.SemaphoreTable)
	start := time.Now()
	var p Progress
	for {
		counts := map[string]int{}
		for _, overall := range []string{contract.StatusCompleted, contract.StatusPermanentlyFailed} {
			n, err := jobs.Count(ctx, overall)
			if err != nil {
				return p, fmt.Errorf("count %s jobs: %w", overall, err)
			}
			counts[overall] = n
		}
		slots, err := sem.Read(ctx)
		if err != nil {
			return p, fmt.Errorf("semaphore: %w", err)
		}
		p.Total, p.ByStatus, p.SlotsInUse = total, counts, slots.Count
		p.Done = counts[contract.StatusCompleted] + counts[contract.StatusPermanentlyFailed]
		p.PeakSlots = max(p.PeakSlots, slots.Count)
		p.Elapsed = time.Since(start)
		if tick != nil {
			tick(p)
		}
		if p.Done >= total && slots.Count == 0 && len(slots.Holders) == 0 {
			return p, nil
		}
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if all, err := jobs.Counts(cctx); err == nil {
				counts = all // every status, for the reader of the error
			}
			cancel()
			return p, fmt.Errorf("waiting for %d jobs (%d done, %v): %w", total, p.Done, counts, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Totals adds up what the status table recorded for every job; tokens and cost count
// the passes this run sent to the model, not those served from the cache.
type Totals struct {
	Jobs       map[string]int  `json:"jobs"`
	Passes     int             `json:"passes"`
	CacheHits  int             `json:"cache_hits"`
	Tokens     contract.Tokens `json:"tokens"`
	CostUSD    float64         `json:"cost_usd"`
	FailedJobs []status.Job    `json:"-"`
	Completed  []status.Job    `json:"-"`
}

// Totals reads every job of the status table through the status index.
func (st *Stack) Totals(ctx context.Context) (Totals, error) {
	jobs := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable)
	t := Totals{Jobs: map[string]int{}}
	for _, overall := range status.Overall {
		list, err := jobs.ListByStatus(ctx, overall, 0)
		if err != nil {
			return t, fmt.Errorf("list %s jobs: %w", overall, err)
		}
		if len(list) > 0 {
			t.Jobs[overall] = len(list)
		}
		for _, j := range list {
			if overall != contract.StatusCompleted {
				t.FailedJobs = append(t.FailedJobs, j)
			} else {
				t.Completed = append(t.Completed, j)
			}
			for _, p := range j.Passes {
				t.Passes++
				if p.Cached {
					t.CacheHits++
					continue // spent by an earlier run
				}
				t.Tokens.Input += p.InputTokens
				t.Tokens.Output += p.OutputTokens
				t.CostUSD += p.CostUSD
			}
		}
	}
	return t, nil
}

// DLQDepth is the number of messages in the dead-letter queue, visible or not.
func (st *Stack) DLQDepth(ctx context.Context) (int, error) {
	out, err := sqs.NewFromConfig(st.Config).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &st.Resources.DLQURL,
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("dead-letter queue depth: %w", err)
	}
	n := 0
	for _, v := range out.Attributes {
		d, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("dead-letter queue depth %q: %w", v, err)
		}
		n += d
	}
	return n, nil
}
