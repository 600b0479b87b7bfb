// Package semaphore reads and repairs the DynamoDB slot semaphore that the state
// machine acquires and releases. The item is `LockName = ProcessingLock` with a
// `currentlockcount`, a `maxlockcount` and one attribute per holder, named after the
// holding execution, whose value is the acquisition time (RFC 3339).
package semaphore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Holder is an execution that holds a slot.
type Holder struct {
	Execution  string
	AcquiredAt time.Time // zero when the stored value is not an RFC 3339 time
}

// State is one consistent read of the semaphore item.
type State struct {
	Count   int
	Max     int
	Holders []Holder // sorted by acquisition time, oldest first
}

// Semaphore is the adapter over the semaphore table.
type Semaphore struct {
	db    *dynamodb.Client
	table string
}

// New returns the adapter for table.
func New(db *dynamodb.Client, table string) *Semaphore {
	return &Semaphore{db: db, table: table}
}

// reconcileAttempts bounds the read-then-conditional-write loop of Reconcile when
// acquires and releases keep changing the count under it.
const reconcileAttempts = 5

func (s *Semaphore) key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.SemaphoreKey: &types.AttributeValueMemberS{Value: contract.SemaphoreLockName}}
}

// Read returns the count, the limit and the holders with a strongly consistent read.
func (s *Semaphore) Read(ctx context.Context) (State, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.key(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return State{}, fmt.Errorf("read semaphore %s: %w", s.table, err)
	}
	if out.Item == nil {
		return State{}, fmt.Errorf("read semaphore %s: item %s=%s is missing", s.table, contract.SemaphoreKey, contract.SemaphoreLockName)
	}
	return parseState(out.Item)
}

func parseState(item map[string]types.AttributeValue) (State, error) {
	var st State
	var err error
	for name, v := range item {
		switch name {
		case contract.SemaphoreKey:
		case contract.SemaphoreCount:
			if st.Count, err = number(v); err != nil {
				return State{}, fmt.Errorf("semaphore %s: %w", name, err)
			}
		case contract.SemaphoreMax:
			if st.Max, err = number(v); err != nil {
				return State{}, fmt.Errorf("semaphore %s: %w", name, err)
			}
		default:
			h := Holder{Execution: name}
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				h.AcquiredAt, _ = time.Parse(time.RFC3339Nano, sv.Value)
			}
			st.Holders = append(st.Holders, h)
		}
	}
	sort.Slice(st.Holders, func(i, j int) bool {
		a, b := st.Holders[i], st.Holders[j]
		if !a.AcquiredAt.Equal(b.AcquiredAt) {
			return a.AcquiredAt.Before(b.AcquiredAt)
		}
		return a.Execution < b.Execution
	})
	return st, nil
}

func number(v types.AttributeValue) (int, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("want a number, got %T", v)
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", n.Value, err)
	}
	return i, nil
}

// Release gives back the slot held by execution. It is idempotent: a holder that is
// already gone reports released=false and no error. A holder left behind with a count
// already at zero (a drifted counter) is removed without decrementing, so it cannot
// stay forever.
func (s *Semaphore) Release(ctx context.Context, execution string) (bool, error) {
	names := map[string]string{"#h": execution, "#c": contract.SemaphoreCount}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(),
		UpdateExpression:          aws.String("SET #c = #c - :one REMOVE #h"),
		ConditionExpression:       aws.String("attribute_exists(#h) AND #c > :zero"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":zero": num(0)},
	})
	if err == nil {
		return true, nil
	}
	if !isConditionFailed(err) {
		return false, fmt.Errorf("release slot of %s: %w", execution, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(),
		UpdateExpression:          aws.String("REMOVE #h"),
		ConditionExpression:       aws.String("attribute_exists(#h) AND #c <= :zero"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	default:
		return false, fmt.Errorf("remove holder %s: %w", execution, err)
	}
}

// Reconcile compares the count with the number of holders and returns the drift
// (count - holders: positive means leaked slots that block admission). With apply it
// sets the count to the number of holders, conditional on the count it read, so an
// acquire or release landing in between is never overwritten; it then reads again.
func (s *Semaphore) Reconcile(ctx context.Context, apply bool) (int, error) {
	for range reconcileAttempts {
		st, err := s.Read(ctx)
		if err != nil {
			return 0, err
		}
		drift := st.Count - len(st.Holders)
		if !apply || drift == 0 {
			return drift, nil
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       s.key(),
			UpdateExpression:          aws.String("SET #c = :holders"),
			ConditionExpression:       aws.String("#c = :read"),
			ExpressionAttributeNames:  map[string]string{"#c": contract.SemaphoreCount},
			ExpressionAttributeValues: map[string]types.AttributeValue{":holders": num(len(st.Holders)), ":read": num(st.Count)},
		})
		if err == nil {
			return drift, nil
		}
		if !isConditionFailed(err) {
			return drift, fmt.Errorf("reconcile semaphore count %d to %d holders: %w", st.Count, len(st.Holders), err)
		}
	}
	return 0, fmt.Errorf("reconcile semaphore: count kept changing over %d attempts", reconcileAttempts)
}

func num(i int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(i)} }

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
