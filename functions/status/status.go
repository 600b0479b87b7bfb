// Package status reads the job status table the state machine writes: one item per
// job with the overall status, the attempt count, the claim of the running execution,
// one map per pass (Bronze key, model, tokens, cost) and the last error.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// ErrNotFound is returned by Get for a job without a status item.
var ErrNotFound = errors.New("job has no status")

// Overall lists every overall status value, in lifecycle order.
var Overall = []string{
	contract.StatusQueued, contract.StatusPending, contract.StatusInProgress,
	contract.StatusCompleted, contract.StatusFailed, contract.StatusPermanentlyFailed,
}

// Job is one status item.
type Job struct {
	ID       string
	Overall  string
	Attempts int
	// Publication counts the hand-overs to a message or execution; the current one's
	// execution is contract.PublicationName(ID, Publication).
	Publication int
	// Sent is the publication whose message a publisher sent; SentKnown is false when
	// the row does not say (contract.AttrSent).
	Sent      int
	SentKnown bool
	Execution string // the claim: the execution running the job, empty when none
	Partition string // the Silver partition discovery found the job in
	CreatedAt string
	UpdatedAt string
	Passes    map[contract.Pass]Pass // only the passes recorded so far
	LastError *Failure
}

// Pass is what the state machine recorded for a completed pass.
type Pass struct {
	Status       string
	BronzeKey    string
	Model        string
	InputTokens  int
	OutputTokens int
	CostUSD      float64
	CostKnown    bool // false: the model had no price; CostUSD is not a cost
	Cached       bool
	CompletedAt  string
}

// Failure is the last failed attempt: the step (pass1..pass3, start, slot) and the
// Step Functions error name and cause.
type Failure struct {
	Step  string
	Error string
	Cause string
}

// CostUSD is the cost of the recorded passes.
func (j Job) CostUSD() float64 {
	var c float64
	for _, p := range j.Passes {
		c += p.CostUSD
	}
	return c
}

// Store reads one stack's status table.
type Store struct {
	db    *dynamodb.Client
	table string
}

// New returns the reader of table.
func New(db *dynamodb.Client, table string) *Store { return &Store{db: db, table: table} }

// Get reads a job's status with a strongly consistent read.
func (s *Store) Get(ctx context.Context, id string) (Job, error) {
	if err := contract.ValidateJobID(id); err != nil {
		return Job{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{contract.StatusKey: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Job{}, fmt.Errorf("read status of job %s: %w", id, err)
	}
	if out.Item == nil {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return decode(out.Item)
}

// ErrConflict is returned by Apply when the transition's condition does not hold:
// the row is not in a state the transition leaves (someone else moved it).
var ErrConflict = errors.New("job status changed meanwhile")

// Apply writes transition t of job id with args and returns the row as written.
func (s *Store) Apply(ctx context.Context, t Transition, id string, args map[string]types.AttributeValue) (Job, error) {
	in, err := t.Input(s.table, id, args)
	if err != nil {
		return Job{}, err
	}
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Job{}, fmt.Errorf("%s job %s: %w", t.Name, id, ErrConflict)
	}
	if err != nil {
		return Job{}, fmt.Errorf("%s job %s: %w", t.Name, id, err)
	}
	return decode(out.Attributes)
}

// ListByStatus returns up to limit jobs with the overall status, most recently
// updated first, through the status index.
func (s *Store) ListByStatus(ctx context.Context, overall string, limit int) ([]Job, error) {
	var jobs []Job
	err := s.query(ctx, overall, false, func(page *dynamodb.QueryOutput) (bool, error) {
		for _, item := range page.Items {
			j, err := decode(item)
			if err != nil {
				return false, err
			}
			jobs = append(jobs, j)
			if len(jobs) == limit {
				return false, nil
			}
		}
		return true, nil
	})
	return jobs, err
}

// ListOlder returns up to limit jobs with the overall status whose last transition
// is before cutoff, oldest first (updatedAt is the index's sort key).
func (s *Store) ListOlder(ctx context.Context, overall string, cutoff time.Time, limit int) ([]Job, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(contract.StatusIndex),
		KeyConditionExpression:   aws.String("#st = :st AND #up < :cutoff"),
		ExpressionAttributeNames: map[string]string{"#st": contract.AttrOverallStatus, "#up": contract.AttrUpdatedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":st": S(overall), ":cutoff": S(Timestamp(cutoff)),
		},
		ScanIndexForward: aws.Bool(true),
	}
	var jobs []Job
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(jobs) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s jobs older than %s: %w", overall, Timestamp(cutoff), err)
		}
		for _, item := range page.Items {
			j, err := decode(item)
			if err != nil {
				return nil, err
			}
			if len(jobs) < limit {
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, nil
}

// Count returns the number of jobs with the overall status.
func (s *Store) Count(ctx context.Context, overall string) (int, error) {
	n := 0
	err := s.query(ctx, overall, true, func(page *dynamodb.QueryOutput) (bool, error) {
		n += int(page.Count)
		return true, nil
	})
	return n, err
}

// Counts returns the number of jobs per overall status (every status present, zero
// included).
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	counts := make(map[string]int, len(Overall))
	for _, st := range Overall {
		err := s.query(ctx, st, true, func(page *dynamodb.QueryOutput) (bool, error) {
			counts[st] += int(page.Count)
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// query walks the index pages of one status until each returns false.
func (s *Store) query(ctx context.Context, overall string, countOnly bool, each func(*dynamodb.QueryOutput) (bool, error)) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(contract.StatusIndex),
		KeyConditionExpression:    aws.String("#st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": contract.AttrOverallStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": &types.AttributeValueMemberS{Value: overall}},
		ScanIndexForward:          aws.Bool(false),
	}
	if countOnly {
		in.Select = types.SelectCount
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query %s jobs: %w", overall, err)
		}
		more, err := each(page)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// decode turns a status item into a Job.
func decode(item map[string]types.AttributeValue) (Job, error) {
	j := Job{
		ID:        str(item[contract.StatusKey]),
		Overall:   str(item[contract.AttrOverallStatus]),
		Execution: str(item[contract.AttrExecution]),
		Partition: str(item[contract.AttrPartition]),
		CreatedAt: str(item[contract.AttrCreatedAt]),
		UpdatedAt: str(item[contract.AttrUpdatedAt]),
		Passes:    map[contract.Pass]Pass{},
	}
	var err error
	if j.Attempts, err = integer(item[contract.AttrAttempts]); err != nil {
		return Job{}, fmt.Errorf("job %s %s: %w", j.ID, contract.AttrAttempts, err)
	}
	if j.Publication, err = integer(item[contract.AttrPublication]); err != nil {
		return Job{}, fmt.Errorf("job %s %s: %w", j.ID, contract.AttrPublication, err)
	}
	if _, j.SentKnown = item[contract.AttrSent]; j.SentKnown {
		if j.Sent, err = integer(item[contract.AttrSent]); err != nil {
			return Job{}, fmt.Errorf("job %s %s: %w", j.ID, contract.AttrSent, err)
		}
	}
	for _, p := range contract.Passes {
		m, ok := item[string(p)].(*types.AttributeValueMemberM)
		if !ok {
			continue
		}
		if j.Passes[p], err = decodePass(m.Value); err != nil {
			return Job{}, fmt.Errorf("job %s %s: %w", j.ID, p, err)
		}
	}
	if m, ok := item[contract.AttrLastError].(*types.AttributeValueMemberM); ok {
		j.LastError = decodeFailure(m.Value)
	}
	return j, nil
}

func decodePass(m map[string]types.AttributeValue) (Pass, error) {
	p := Pass{
		Status:      str(m[contract.AttrPassStatus]),
		BronzeKey:   str(m[contract.AttrPassBronzeKey]),
		Model:       str(m[contract.AttrPassModel]),
		CompletedAt: str(m[contract.AttrPassFinishedAt]),
	}
	if b, ok := m[contract.AttrPassCached].(*types.AttributeValueMemberBOOL); ok {
		p.Cached = b.Value
	}
	// Rows recorded before costKnown existed were all priced.
	p.CostKnown = true
	if b, ok := m[contract.AttrPassCostKnown].(*types.AttributeValueMemberBOOL); ok {
		p.CostKnown = b.Value
	}
	var err error
	if p.InputTokens, err = integer(m[contract.AttrPassInTokens]); err != nil {
		return Pass{}, err
	}
	if p.OutputTokens, err = integer(m[contract.AttrPassOutTokens]); err != nil {
		return Pass{}, err
	}
	if n, ok := m[contract.AttrPassCost].(*types.AttributeValueMemberN); ok {
		if p.CostUSD, err = strconv.ParseFloat(n.Value, 64); err != nil {
			return Pass{}, fmt.Errorf("%s: %w", contract.AttrPassCost, err)
		}
	}
	return p, nil
}

// decodeFailure reads the step and the error object the state machine stored as JSON
// text; text that is not such an object is kept whole as the cause.
func decodeFailure(m map[string]types.AttributeValue) *Failure {
	f := &Failure{Step: str(m[contract.AttrErrorStep])}
	detail := str(m[contract.AttrErrorDetail])
	var e struct{ Error, Cause string }
	if json.Unmarshal([]byte(detail), &e) != nil || e.Error == "" {
		f.Cause = detail
		return f
	}
	f.Error, f.Cause = e.Error, e.Cause
	return f
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func integer(v types.AttributeValue) (int, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %w", err)
	}
	return i, nil
}
