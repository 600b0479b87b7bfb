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

// markQueued sets a job QUEUED if it has no row, or (with force) is not in flight, or
// failed with attempts left. It reports false when the condition does not hold: the
// job was queued or started meanwhile.
func (h *Handler) markQueued(ctx context.Context, id, partition string, force bool) (bool, error) {
	cond := "attribute_not_exists(#id) OR (#st = :failed AND (attribute_not_exists(#at) OR #at < :max))"
	if force {
		cond = "attribute_not_exists(#id) OR NOT (#st IN (:queued, :pending, :running))"
	}
	names := map[string]string{"#id": contract.StatusKey, "#st": contract.AttrOverallStatus, "#up": contract.AttrUpdatedAt, "#cr": contract.AttrCreatedAt, "#pa": contract.AttrPartition}
	values := map[string]types.AttributeValue{
		":queued":    &types.AttributeValueMemberS{Value: contract.StatusQueued},
		":now":       &types.AttributeValueMemberS{Value: h.now().UTC().Format(time.RFC3339Nano)},
		":partition": &types.AttributeValueMemberS{Value: partition},
	}
	if force {
		values[":pending"] = &types.AttributeValueMemberS{Value: contract.StatusPending}
		values[":running"] = &types.AttributeValueMemberS{Value: contract.StatusInProgress}
	} else {
		names["#at"] = contract.AttrAttempts
		values[":failed"] = &types.AttributeValueMemberS{Value: contract.StatusFailed}
		values[":max"] = &types.AttributeValueMemberN{Value: strconv.Itoa(h.opts.MaxAttempts)}
	}
	_, err := h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(h.opts.StatusTable),
		Key:                       map[string]types.AttributeValue{contract.StatusKey: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #st = :queued, #up = :now, #pa = :partition, #cr = if_not_exists(#cr, :now)"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("marking job %s queued: %w", id, err)
	}
	return true, nil
}

// unmarkQueued puts back the status a job had before markQueued, for a job whose
// message the queue refused, so the next run picks it up again.
func (h *Handler) unmarkQueued(ctx context.Context, id string, prev jobStatus) error {
	key := map[string]types.AttributeValue{contract.StatusKey: &types.AttributeValueMemberS{Value: id}}
	names := map[string]string{"#st": contract.AttrOverallStatus}
	queued := &types.AttributeValueMemberS{Value: contract.StatusQueued}
	var err error
	if prev.status == "" {
		_, err = h.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(h.opts.StatusTable), Key: key,
			ConditionExpression:       aws.String("#st = :queued"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: map[string]types.AttributeValue{":queued": queued},
		})
	} else {
		_, err = h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(h.opts.StatusTable), Key: key,
			UpdateExpression:          aws.String("SET #st = :prev"),
			ConditionExpression:       aws.String("#st = :queued"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: map[string]types.AttributeValue{":queued": queued, ":prev": &types.AttributeValueMemberS{Value: prev.status}},
		})
	}
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
