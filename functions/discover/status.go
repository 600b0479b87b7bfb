package discover

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// jobStatus is what discovery needs of a status row; the zero value is "no row".
type jobStatus struct {
	status   string
	attempts int
}

func (s jobStatus) inFlight() bool {
	switch s.status {
	case contract.StatusQueued, contract.StatusPending, contract.StatusInProgress:
		return true
	}
	return false
}

// done means nothing is left to do without force: completed, given up, or failed
// with the attempt budget spent.
func (s jobStatus) done(maxAttempts int) bool {
	switch s.status {
	case contract.StatusCompleted, contract.StatusPermanentlyFailed:
		return true
	case contract.StatusFailed:
		return s.attempts >= maxAttempts
	}
	return false
}

func statusOf(item map[string]types.AttributeValue) (id string, s jobStatus) {
	if v, ok := item[contract.StatusKey].(*types.AttributeValueMemberS); ok {
		id = v.Value
	}
	if v, ok := item[contract.AttrOverallStatus].(*types.AttributeValueMemberS); ok {
		s.status = v.Value
	}
	if v, ok := item[contract.AttrAttempts].(*types.AttributeValueMemberN); ok {
		s.attempts, _ = strconv.Atoi(v.Value)
	}
	return id, s
}

// BatchGetItem limits and the retry of UnprocessedKeys (throttled or over 16 MB).
const (
	batchGetKeys     = 100
	unprocessedTries = 8
	unprocessedWait  = 50 * time.Millisecond
	maxUnprocessed   = 2 * time.Second
)

// statuses reads the status rows of ids; ids without a row are absent from the map.
func (h *Handler) statuses(ctx context.Context, ids []string) (map[string]jobStatus, error) {
	out := make(map[string]jobStatus, len(ids))
	for start := 0; start < len(ids); start += batchGetKeys {
		keys := make([]map[string]types.AttributeValue, 0, batchGetKeys)
		for _, id := range ids[start:min(start+batchGetKeys, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{contract.StatusKey: &types.AttributeValueMemberS{Value: id}})
		}
		req := map[string]types.KeysAndAttributes{h.opts.StatusTable: {
			Keys:                     keys,
			ProjectionExpression:     aws.String("#id, #st, #at"),
			ExpressionAttributeNames: map[string]string{"#id": contract.StatusKey, "#st": contract.AttrOverallStatus, "#at": contract.AttrAttempts},
			ConsistentRead:           aws.Bool(true),
		}}
		wait := unprocessedWait
		for try := 1; ; try++ {
			resp, err := h.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("reading job statuses from %s: %w", h.opts.StatusTable, err)
			}
			for _, item := range resp.Responses[h.opts.StatusTable] {
				id, s := statusOf(item)
				out[id] = s
			}
			req = resp.UnprocessedKeys
			if len(req) == 0 {
				break
			}
			if try == unprocessedTries {
				return nil, fmt.Errorf("reading job statuses from %s: keys still unprocessed after %d tries", h.opts.StatusTable, try)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, maxUnprocessed)
		}
	}
	return out, nil
}

// markQueued applies status.Queue (status.QueueForced with force) and returns the
// publication it wrote; 0 means the condition does not hold: the job was queued or
// started meanwhile. The token makes the mark safe to retry: an SDK retry after a lost
// acknowledgement finds its own mark and is not taken for a race.
func (h *Handler) markQueued(ctx context.Context, id, partition string, force bool) (int, error) {
	t, args := status.Queue, map[string]types.AttributeValue{
		":now": status.S(status.Timestamp(h.now())), ":partition": status.S(partition),
		":token": status.S(status.NewToken()), ":max": status.N(h.opts.MaxAttempts),
	}
	if force {
		t = status.QueueForced
		delete(args, ":max")
	}
	j, err := h.store.Apply(ctx, t, id, args)
	if errors.Is(err, status.ErrConflict) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("marking job %s queued: %w", id, err)
	}
	return j.Publication, nil
}

// unmarkQueued puts back the status a job had before markQueued (FAILED for a job
// that had no row, so the retry of failed jobs picks it up), for a job whose message
// the queue refused. The publication stays counted: its name is never used.
func (h *Handler) unmarkQueued(ctx context.Context, id string, prev jobStatus, publication int) error {
	was := prev.status
	if was == "" {
		was = contract.StatusFailed
	}
	_, err := h.store.Apply(ctx, status.Unqueue, id, map[string]types.AttributeValue{
		":prev": status.S(was), ":now": status.S(status.Timestamp(h.now())), ":pub": status.N(publication),
	})
	if err != nil {
		return fmt.Errorf("restoring status of job %s: %w", id, err)
	}
	return nil
}

// failedJobs lists up to limit FAILED jobs with attempts left, oldest update first,
// from the status index: retries need no Silver rescan.
func (h *Handler) failedJobs(ctx context.Context, limit int) ([]candidate, error) {
	var out []candidate
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(h.opts.StatusTable),
		IndexName:                 aws.String(contract.StatusIndex),
		KeyConditionExpression:    aws.String("#st = :failed"),
		ExpressionAttributeNames:  map[string]string{"#st": contract.AttrOverallStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":failed": &types.AttributeValueMemberS{Value: contract.StatusFailed}},
	}
	pages := dynamodb.NewQueryPaginator(h.db, in)
	for pages.HasMorePages() && len(out) < limit {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("querying FAILED jobs in %s: %w", h.opts.StatusTable, err)
		}
		for _, item := range page.Items {
			id, s := statusOf(item)
			if s.attempts >= h.opts.MaxAttempts || contract.ValidateJobID(id) != nil || len(out) == limit {
				continue
			}
			c := candidate{id: id, status: s}
			if v, ok := item[contract.AttrPartition].(*types.AttributeValueMemberS); ok {
				c.partition = v.Value
			}
			out = append(out, c)
		}
	}
	return out, nil
}
