// Package semaphore reads, configures and repairs the DynamoDB slot semaphore that
// the state machine acquires and releases. The item is `LockName = ProcessingLock`
// with a `currentlockcount`, the configured maximum `maxlockcount` (written by a
// deploy), the controller's `effectivelimit` and its memory, and one attribute per
// holder, named `holder:` + the holding execution, whose value is the acquisition
// time (RFC 3339). Attributes without that prefix are never holders.
package semaphore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
	Count int
	Max   int // the configured maximum
	// Effective is the controller's limit; 0 when it has never set one.
	Effective int
	// LimitChangedAt, LimitDecreasedAt and SuccessStreak are the controller's memory
	// (zero when unset).
	LimitChangedAt   time.Time
	LimitDecreasedAt time.Time
	SuccessStreak    int
	// PausedUntil ends the controller's hold-off after a throttle, which lasted Pause
	// (zero when none was ever set).
	PausedUntil time.Time
	Pause       time.Duration
	Holders     []Holder // sorted by acquisition time, oldest first
}

// Limit is what acquire enforces: the effective limit, never above the maximum.
func (s State) Limit() int {
	if s.Effective > 0 && s.Effective < s.Max {
		return s.Effective
	}
	return s.Max
}

// HolderAttribute is the item attribute that records execution as a holder.
func HolderAttribute(execution string) string { return contract.SemaphoreHolderPrefix + execution }

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
	numbers := map[string]*int{
		contract.SemaphoreCount: &st.Count, contract.SemaphoreMax: &st.Max,
		contract.SemaphoreLimit: &st.Effective, contract.SemaphoreSuccessStreak: &st.SuccessStreak,
	}
	var pauseMillis int
	numbers[contract.SemaphorePauseMillis] = &pauseMillis

	for name, v := range item {
		if field, ok := numbers[name]; ok {
			n, err := number(v)
			if err != nil {
				return State{}, fmt.Errorf("semaphore %s: %w", name, err)
			}
			*field = n
			continue
		}
		switch name {
		case contract.SemaphoreKey:
		case contract.SemaphoreLimitChangedAt:
			st.LimitChangedAt = timeOf(v)
		case contract.SemaphoreLimitDecreasedAt:
			st.LimitDecreasedAt = timeOf(v)
		case contract.SemaphorePausedUntil:
			st.PausedUntil = timeOf(v)
		default:
			execution, ok := strings.CutPrefix(name, contract.SemaphoreHolderPrefix)
			if !ok || execution == "" {
				continue // not a holder: another writer's attribute is never released
			}
			st.Holders = append(st.Holders, Holder{Execution: execution, AcquiredAt: timeOf(v)})
		}
	}
	st.Pause = time.Duration(pauseMillis) * time.Millisecond
	sort.Slice(st.Holders, func(i, j int) bool {
		a, b := st.Holders[i], st.Holders[j]
		if !a.AcquiredAt.Equal(b.AcquiredAt) {
			return a.AcquiredAt.Before(b.AcquiredAt)
		}
		return a.Execution < b.Execution
	})
	return st, nil
}

// timeOf is the RFC 3339 time stored in v, zero when it is none.
func timeOf(v types.AttributeValue) time.Time {
	sv, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, sv.Value)
	return t
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
	names := map[string]string{"#h": HolderAttribute(execution), "#c": contract.SemaphoreCount}
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

// Config is what a deploy sets on the item: the configured maximum and, when the stack
// adapts its concurrency, the controller's initial limit (0: no controller).
type Config struct {
	Max     int
	Initial int
}

func (c Config) check() error {
	if c.Max < 1 || c.Initial < 0 || c.Initial > c.Max {
		return fmt.Errorf("semaphore configuration %+v: want a maximum of at least 1 and an initial limit in [0, maximum]", c)
	}
	return nil
}

// Configure applies a deploy's configuration to a live item, creating it when it is
// missing. It never touches the count or the holders, so a deploy that runs it while
// executions hold slots loses nothing; acquire compares the count with the new
// maximum from the next try on, in running executions too. A live effective limit is
// kept (if_not_exists): it is what the controller learned of the capacity, and a
// redeploy resetting it would throw the stack back to the initial limit (or, never
// set, leave it at the maximum); a lowered maximum still binds, since acquire checks
// both. Without a controller the effective limit and its memory are removed: nothing
// would move a stale one again, and it would hold the stack below its maximum.
func (s *Semaphore) Configure(ctx context.Context, c Config) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("configure semaphore %s: %w", s.table, err)
	}
	names := map[string]string{"#m": contract.SemaphoreMax, "#c": contract.SemaphoreCount, "#l": contract.SemaphoreLimit}
	values := map[string]types.AttributeValue{":max": num(c.Max), ":zero": num(0)}
	update := "SET #m = :max, #c = if_not_exists(#c, :zero)"
	if c.Initial > 0 {
		update += ", #l = if_not_exists(#l, :initial)"
		values[":initial"] = num(c.Initial)
	} else {
		update += " REMOVE #l, #t, #d, #s, #pu, #pm"
		names["#t"], names["#d"], names["#s"] = contract.SemaphoreLimitChangedAt, contract.SemaphoreLimitDecreasedAt, contract.SemaphoreSuccessStreak
		names["#pu"], names["#pm"] = contract.SemaphorePausedUntil, contract.SemaphorePauseMillis
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("configure semaphore %s %+v: %w", s.table, c, err)
	}
	return nil
}

// Configured reports whether the item already has the deploy's configuration c: its
// maximum, and an effective limit exactly when there is a controller.
func (st State) Configured(c Config) bool {
	return st.Max == c.Max && (c.Initial > 0) == (st.Effective > 0)
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

// CountSuccess adds one to the controller's success streak and returns the item as
// it is after the addition.
func (s *Semaphore) CountSuccess(ctx context.Context) (State, error) {
	out, err := s.updateStreak(ctx, "ADD #s :n", 1, types.ReturnValueAllNew)
	if err != nil {
		return State{}, fmt.Errorf("count a success on semaphore %s: %w", s.table, err)
	}
	return parseState(out.Attributes)
}

// ResetStreak sets the controller's success streak back to zero: a throttle says the
// current limit is not proven, whether or not it changes it. (A success added at the
// same time may be lost; it only delays an increase.)
func (s *Semaphore) ResetStreak(ctx context.Context) error {
	if _, err := s.updateStreak(ctx, "SET #s = :n", 0, types.ReturnValueNone); err != nil {
		return fmt.Errorf("reset the success streak on semaphore %s: %w", s.table, err)
	}
	return nil
}

// updateStreak applies update (with :n = n) to the streak of an existing item: it never
// creates a partial one.
func (s *Semaphore) updateStreak(ctx context.Context, update string, n int, ret types.ReturnValue) (*dynamodb.UpdateItemOutput, error) {
	return s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(#c)"),
		ExpressionAttributeNames:  map[string]string{"#s": contract.SemaphoreSuccessStreak, "#c": contract.SemaphoreCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(n)},
		ReturnValues:              ret,
	})
}

// SetLimit writes the controller's new effective limit, resets its streak and
// stamps the change (and, when decreased, the decrease), conditional on the last
// change being the one seen in seen: of two passes deciding at once only the first
// changes the limit (false for the other).
func (s *Semaphore) SetLimit(ctx context.Context, limit int, decreased bool, seen State, now time.Time) (bool, error) {
	names := map[string]string{"#l": contract.SemaphoreLimit, "#s": contract.SemaphoreSuccessStreak}
	values := map[string]types.AttributeValue{":l": num(limit), ":now": stamp(now), ":zero": num(0)}
	update := "SET #l = :l, #stamp = :now, #s = :zero"
	if decreased {
		update += ", #d = :now"
		names["#d"] = contract.SemaphoreLimitDecreasedAt
	}
	won, err := s.updateUnlessStamped(ctx, update, names, values, contract.SemaphoreLimitChangedAt, seen.LimitChangedAt)
	if err != nil {
		return false, fmt.Errorf("set semaphore %s limit to %d: %w", s.table, limit, err)
	}
	return won, nil
}

// SetPause stamps the controller's hold-off after a throttle: no pass calls the model
// before until; pause is its length (the next one doubles it when the throttles go on).
// It is conditional on the pause seen in seen, so of passes throttled at once only the
// first arms it (false for the others).
func (s *Semaphore) SetPause(ctx context.Context, until time.Time, pause time.Duration, seen State) (bool, error) {
	won, err := s.updateUnlessStamped(ctx, "SET #stamp = :u, #pm = :p", map[string]string{"#pm": contract.SemaphorePauseMillis},
		map[string]types.AttributeValue{":u": stamp(until), ":p": num(int(pause.Milliseconds()))}, contract.SemaphorePausedUntil, seen.PausedUntil)
	if err != nil {
		return false, fmt.Errorf("pause the model calls of semaphore %s until %s: %w", s.table, until.Format(time.RFC3339), err)
	}
	return won, nil
}

// updateUnlessStamped applies update (which writes #stamp, the attribute stampAttr) to
// the existing item if stampAttr still holds seen (absent when seen is zero): false,
// and no change, when another writer stamped it since.
func (s *Semaphore) updateUnlessStamped(ctx context.Context, update string, names map[string]string, values map[string]types.AttributeValue, stampAttr string, seen time.Time) (bool, error) {
	names["#stamp"], names["#c"] = stampAttr, contract.SemaphoreCount
	cond := "attribute_exists(#c) AND attribute_not_exists(#stamp)"
	if !seen.IsZero() {
		cond = "attribute_exists(#c) AND #stamp = :seen"
		values[":seen"] = stamp(seen)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	default:
		return false, err
	}
}

func stamp(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
}
