package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Requeue hands a job whose message or execution is gone to a new message: it applies
// status.Requeue to the row as read (a row changed since is left alone:
// status.ErrConflict) and publishes the new publication. If the message cannot be
// sent, the row stays QUEUED with a fresh updatedAt and the reaper tries again after
// its bound. It returns the row as written.
func (p *Publisher) Requeue(ctx context.Context, store *status.Store, j status.Job, now time.Time) (status.Job, error) {
	row, err := store.Apply(ctx, status.Requeue, j.ID, map[string]types.AttributeValue{
		":seen": status.S(j.Overall), ":seenat": status.S(j.UpdatedAt),
		":token": status.S(status.NewToken()), ":now": status.S(status.Timestamp(now)),
	})
	if err != nil {
		return status.Job{}, err
	}
	ref := contract.JobRef{JobPostingID: j.ID, Partition: j.Partition, PostingKey: contract.PostingKey(j.ID)}
	refused, err := p.Publish(ctx, []Entry{EntryFor(ref, row.Publication, false)})
	if err != nil {
		return row, err
	}
	if len(refused) > 0 {
		return row, fmt.Errorf("requeue job %s: the queue refused publication %d", j.ID, row.Publication)
	}
	return row, MarkSent(ctx, store, j.ID, row.Publication)
}

// MarkSent records that the message of a job's publication was sent (status.Sent),
// so the reaper knows the row waits in the queue. A row that moved on meanwhile (its
// execution already claimed it) needs no mark. A failed mark loses nothing: the row
// looks unsent, and the reaper hands it to a new publication after its bound (the
// message sent here then ends in Skipped).
func MarkSent(ctx context.Context, store *status.Store, id string, publication int) error {
	_, err := store.Apply(ctx, status.Sent, id, map[string]types.AttributeValue{":pub": status.N(publication)})
	if errors.Is(err, status.ErrConflict) {
		return nil
	}
	return err
}
