package discover

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

// env is one provisioned stack in the local cloud with a discovery handler on it.
type env struct {
	cfg aws.Config
	h   *Handler
	s3  *s3.Client
	db  *dynamodb.Client
	sqs *sqs.Client
	res localcloud.Resources
}

// day is when the test partitions were written: long settled.
var day = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, stack string, maxPartitions, maxJobs int) *env {
	t.Helper()
	var s stacks.Settings
	cfg, names, res := localcloud.SharedStack(t, stack, func(d *stacks.Settings) { s = *d })
	opts := Options{
		SilverBucket: res.SilverBucket, SilverPrefix: "linkedin/", BronzeBucket: res.BronzeBucket,
		StatusTable: names.StatusTable, QueueURL: res.QueueURL,
		MaxPartitions: maxPartitions, MaxJobs: maxJobs, MaxAttempts: 3, MessageGroups: s.MessageGroups,
		Settle: DefaultSettle, CursorKey: contract.DefaultCursorKeyName,
	}
	h := New(cfg, opts, slog.New(slog.DiscardHandler), metrics.New(io.Discard, contract.MetricsNamespace))
	h.now = func() time.Time { return day.Add(30 * 24 * time.Hour) }
	return &env{cfg: cfg, h: h, s3: h.s3, db: h.db, sqs: sqs.NewFromConfig(cfg), res: res}
}

func (e *env) write(t testing.TB, ps []silver.Partition, jobs int, seed uint64) {
	t.Helper()
	if _, err := sample.WritePartitions(context.Background(), e.s3, e.res.SilverBucket, "linkedin/", ps, jobs, seed); err != nil {
		t.Fatal(err)
	}
}

func (e *env) run(t testing.TB, ev Event) Result {
	t.Helper()
	res, err := e.h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// drain receives and deletes every message on the queue.
func (e *env) drain(t testing.TB) (msgs []contract.QueueMessage, groups map[string]int) {
	t.Helper()
	groups = map[string]int{}
	for _, s := range e.drainSent(t) {
		msgs = append(msgs, s.msg)
		groups[s.group]++
	}
	return msgs, groups
}

func (e *env) setStatus(t testing.TB, id, status string, attempts int) {
	t.Helper()
	_, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(e.h.opts.StatusTable),
		Item: map[string]ddbtypes.AttributeValue{
			contract.StatusKey:         &ddbtypes.AttributeValueMemberS{Value: id},
			contract.AttrOverallStatus: &ddbtypes.AttributeValueMemberS{Value: status},
			contract.AttrUpdatedAt:     &ddbtypes.AttributeValueMemberS{Value: day.Format(time.RFC3339)},
			contract.AttrAttempts:      &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(attempts)},
			contract.AttrPartition:     &ddbtypes.AttributeValueMemberS{Value: "year=2025/month=06/day=01/hour=00"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) status(t testing.TB, id string) jobStatus {
	t.Helper()
	st, err := e.h.statuses(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return st[id]
}

// ids of the rows sample writes for a partition, in file order.
func ids(p silver.Partition, jobs int, seed uint64) []string {
	rows := sample.NewGenerator(seed).Rows(p, jobs)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = *r.JobPostingID
	}
	return out
}

func TestDiscoveryLimitsAndCursor(t *testing.T) {
	e := newEnv(t, "limits", 2, 100)
	ps := sample.Partitions(day.Add(4*time.Hour), 5)
	e.write(t, ps, 20, 1)

	wantCursor := []string{ps[1].String(), ps[3].String(), ps[4].String(), ps[4].String()}
	wantPublished := []int{40, 40, 20, 0}
	for run := range wantCursor {
		res := e.run(t, Event{})
		if res.Cursor != wantCursor[run] || res.Published != wantPublished[run] {
			t.Fatalf("run %d: cursor %q published %d, want %q and %d (%+v)", run, res.Cursor, res.Published, wantCursor[run], wantPublished[run], res)
		}
	}
	msgs, groups := e.drain(t)
	if len(msgs) != 100 {
		t.Fatalf("%d messages on the queue, want 100", len(msgs))
	}
	if len(groups) < 8 {
		t.Errorf("jobs spread over %d message groups, want most of %d", len(groups), e.h.opts.MessageGroups)
	}
	m := msgs[0]
	if m.Job.PostingKey != contract.PostingKey(m.Job.JobPostingID) || m.Job.Partition != ps[0].String() {
		t.Errorf("message %+v", m)
	}
	snap, err := e.h.bronze.GetPosting(context.Background(), m.Job.PostingKey)
	if err != nil || snap.JobPostingID != m.Job.JobPostingID || snap.DescriptionText == "" || snap.Partition != ps[0].String() {
		t.Errorf("snapshot %+v, err %v", snap.JobPostingID, err)
	}
	if st := e.status(t, m.Job.JobPostingID); st.status != contract.StatusQueued {
		t.Errorf("status %+v, want QUEUED", st)
	}
}

// The newest hour may still be written: it is read again until it has settled.
func TestDiscoveryRevisitsOpenPartition(t *testing.T) {
	e := newEnv(t, "open", 10, 100)
	ps := sample.Partitions(day.Add(2*time.Hour), 3)
	e.write(t, ps, 10, 2)
	e.h.now = func() time.Time { return ps[2].Hour.Add(40 * time.Minute) }

	res := e.run(t, Event{})
	if res.Published != 30 || res.Cursor != ps[1].String() {
		t.Fatalf("first run: %+v", res)
	}
	// Spark adds a second part file to the open hour.
	late := sample.NewGenerator(99).Rows(ps[2], 5)
	if err := sample.PutFile(context.Background(), e.s3, e.res.SilverBucket, sample.FileKey("linkedin/", ps[2], 1), late); err != nil {
		t.Fatal(err)
	}
	e.h.now = func() time.Time { return ps[2].End().Add(time.Hour) }
	res = e.run(t, Event{})
	if res.Published != 5 || res.SkippedInFlight != 10 || res.Cursor != ps[2].String() || len(res.Partitions) != 1 {
		t.Fatalf("second run: %+v", res)
	}
}

func TestDiscoveryFiltersBeforeLimiting(t *testing.T) {
	e := newEnv(t, "filter", 10, 100)
	p := sample.Partitions(day, 1)
	e.write(t, p, 150, 3)
	all := ids(p[0], 150, 3)
	for _, id := range all[:100] {
		e.setStatus(t, id, contract.StatusCompleted, 1)
	}
	res := e.run(t, Event{})
	if res.Published != 50 || res.SkippedDone != 100 || res.Deferred != 0 || res.Cursor != p[0].String() {
		t.Fatalf("result %+v", res)
	}
	msgs, _ := e.drain(t)
	for _, m := range msgs {
		if m.Job.JobPostingID < all[100] {
			t.Fatalf("published done job %s", m.Job.JobPostingID)
		}
	}
}

func TestDiscoveryDefersBeyondLimitAndNeverDuplicates(t *testing.T) {
	e := newEnv(t, "rerun", 10, 100)
	p := sample.Partitions(day, 1)
	e.write(t, p, 150, 4)
	all := ids(p[0], 150, 4)
	e.setStatus(t, all[0], contract.StatusInProgress, 1)
	e.setStatus(t, all[1], contract.StatusPending, 1)

	first := e.run(t, Event{})
	if first.Published != 100 || first.Deferred != 48 || first.SkippedInFlight != 2 || first.Cursor != "" {
		t.Fatalf("first run %+v", first)
	}
	second := e.run(t, Event{})
	if second.Published != 48 || second.SkippedInFlight != 102 || second.Cursor != p[0].String() {
		t.Fatalf("second run %+v", second)
	}
	backfill := e.run(t, Event{Partitions: []string{p[0].String()}})
	if backfill.Published != 0 || backfill.SkippedInFlight != 150 {
		t.Fatalf("backfill %+v", backfill)
	}
	msgs, _ := e.drain(t)
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.Job.JobPostingID] || m.Job.JobPostingID == all[0] || m.Job.JobPostingID == all[1] {
			t.Fatalf("job %s published twice or while in flight", m.Job.JobPostingID)
		}
		seen[m.Job.JobPostingID] = true
	}
	if len(seen) != 148 {
		t.Fatalf("%d distinct jobs published, want 148", len(seen))
	}
}

func TestDiscoveryReportsMalformedRowsAndFiles(t *testing.T) {
	e := newEnv(t, "malformed", 10, 100)
	ps := sample.Partitions(day.Add(time.Hour), 2)
	rows := append(sample.NewGenerator(5).Rows(ps[0], 4), sample.Tricky(ps[0].Hour)...)
	ctx := context.Background()
	if err := sample.PutFile(ctx, e.s3, e.res.SilverBucket, sample.FileKey("linkedin/", ps[0], 0), rows); err != nil {
		t.Fatal(err)
	}
	broken := sample.FileKey("linkedin/", ps[0], 1)
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.res.SilverBucket), Key: aws.String(broken), Body: strings.NewReader("PAR1 not really")}); err != nil {
		t.Fatal(err)
	}
	e.write(t, ps[1:], 3, 6)

	res := e.run(t, Event{})
	if res.Published != 7 || res.Rows != 10 || res.InvalidRows != 3 || len(res.Rejected) != 3 || fmt.Sprint(res.MalformedFiles) != "["+broken+"]" || res.Cursor != ps[1].String() {
		t.Fatalf("result %+v", res)
	}
	if res.Rejected[0].ID != "../x" {
		t.Errorf("first rejected row %+v", res.Rejected[0])
	}
}

func TestDiscoveryRetriesFailedJobs(t *testing.T) {
	e := newEnv(t, "retry", 10, 100)
	e.setStatus(t, "101", contract.StatusFailed, 1)
	e.setStatus(t, "102", contract.StatusFailed, 3) // budget spent
	e.setStatus(t, "103", contract.StatusCompleted, 1)

	res := e.run(t, Event{})
	if res.Retried != 1 {
		t.Fatalf("result %+v", res)
	}
	msgs, _ := e.drain(t)
	if len(msgs) != 1 || msgs[0].Job.JobPostingID != "101" || msgs[0].Job.PostingKey != contract.PostingKey("101") {
		t.Fatalf("messages %+v", msgs)
	}
	if st := e.status(t, "101"); st.status != contract.StatusQueued || st.attempts != 1 {
		t.Errorf("status of 101: %+v", st)
	}
	if again := e.run(t, Event{}); again.Retried != 0 {
		t.Errorf("second run retried %d", again.Retried)
	}
}

func TestDiscoveryForceRepublishesDoneJobs(t *testing.T) {
	e := newEnv(t, "force", 10, 100)
	p := sample.Partitions(day, 1)
	e.write(t, p, 3, 7)
	all := ids(p[0], 3, 7)
	e.setStatus(t, all[0], contract.StatusCompleted, 1)
	e.setStatus(t, all[1], contract.StatusInProgress, 1)

	res := e.run(t, Event{Partitions: []string{p[0].String()}, Force: true})
	if res.Published != 2 || res.SkippedInFlight != 1 {
		t.Fatalf("result %+v", res)
	}
	msgs, _ := e.drain(t)
	for _, m := range msgs {
		if !m.Force {
			t.Errorf("message %+v without force", m)
		}
	}
}

// halfProcessed makes the first BatchGetItem read only half of its keys and return the
// rest as UnprocessedKeys, as DynamoDB does when throttled.
func halfProcessed(calls *int) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("halfProcessed", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			req, ok := in.Parameters.(*dynamodb.BatchGetItemInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			*calls++
			if *calls > 1 {
				return next.HandleInitialize(ctx, in)
			}
			sent, rest := map[string]ddbtypes.KeysAndAttributes{}, map[string]ddbtypes.KeysAndAttributes{}
			for table, ka := range req.RequestItems {
				a, b := ka, ka
				a.Keys, b.Keys = ka.Keys[:len(ka.Keys)/2], ka.Keys[len(ka.Keys)/2:]
				sent[table], rest[table] = a, b
			}
			in.Parameters = &dynamodb.BatchGetItemInput{RequestItems: sent}
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil {
				out.Result.(*dynamodb.BatchGetItemOutput).UnprocessedKeys = rest
			}
			return out, md, err
		}), middleware.After)
	}
}

func TestStatusesRetriesUnprocessedKeys(t *testing.T) {
	e := newEnv(t, "unprocessed", 10, 100)
	var ids []string
	for i := range 10 {
		id := fmt.Sprint(500 + i)
		ids = append(ids, id)
		e.setStatus(t, id, contract.StatusCompleted, 1)
	}
	calls := 0
	e.h.db = dynamodb.NewFromConfig(e.cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, halfProcessed(&calls)) })
	got, err := e.h.statuses(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || calls != 2 {
		t.Fatalf("%d statuses in %d calls, want 10 in 2", len(got), calls)
	}
}

// BenchmarkDiscovery runs one discovery over 10,000 rows in 24 hourly partitions
// (run it with -benchtime 1x; each iteration provisions afresh). Every row is read
// and its status looked up; publishing is capped at 20 jobs per partition because
// moto's FIFO SendMessage slows down with every message already queued
// (docs/performance.md, "Discovery").
func BenchmarkDiscovery(b *testing.B) {
	const partitions, rows, perPartition = 24, 10_000, 20
	ps := sample.Partitions(day.Add(23*time.Hour), partitions)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, fmt.Sprintf("bench%d", i), partitions, perPartition)
		for j, p := range ps {
			n := rows / partitions
			if j < rows%partitions {
				n++
			}
			e.write(b, []silver.Partition{p}, n, uint64(j))
		}
		b.StartTimer()
		res := e.run(b, Event{})
		if res.Rows != rows || res.Published != partitions*perPartition || res.Deferred != rows-partitions*perPartition {
			b.Fatalf("result rows %d published %d deferred %d", res.Rows, res.Published, res.Deferred)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
