// Package discover is the DiscoverPartitions handler: it finds new Silver partitions,
// keeps the jobs that are neither done nor in flight, stores their posting snapshots in
// Bronze, marks them QUEUED and publishes them to the FIFO jobs queue.
package discover

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/queue"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Event is the handler input: an EventBridge scheduled event (its content is ignored)
// or a backfill naming partitions. A backfill neither reads nor moves the cursor, and
// with Force it also republishes done jobs, asking the passes to bypass their cache.
type Event struct {
	Partitions []string `json:"partitions,omitempty"`
	Force      bool     `json:"force,omitempty"`
}

// Result counts what a run did.
type Result struct {
	Partitions     []string `json:"partitions"`
	Files          int      `json:"files"`
	MalformedFiles []string `json:"malformed_files,omitempty"`
	// UnreadableFiles could not be read this run (gone, denied, a 5xx after the SDK's
	// retries): skipped, and their partition keeps the cursor so the next run retries.
	UnreadableFiles []string `json:"unreadable_files,omitempty"`
	LateFiles       int      `json:"late_files"` // files found behind the cursor (L10)
	// OutOfTime: the run stopped taking partitions to finish within its deadline.
	OutOfTime       bool             `json:"out_of_time,omitempty"`
	Rows            int              `json:"rows"`
	InvalidRows     int              `json:"invalid_rows"`
	Rejected        []silver.Invalid `json:"rejected,omitempty"` // the first invalid rows
	DuplicateRows   int              `json:"duplicate_rows"`
	SkippedDone     int              `json:"skipped_done"`
	SkippedInFlight int              `json:"skipped_in_flight"`
	Deferred        int              `json:"deferred"` // eligible beyond MaxJobs, left for the next run
	Published       int              `json:"published"`
	Retried         int              `json:"retried"` // FAILED jobs republished from the status index
	PublishFailed   int              `json:"publish_failed"`
	Cursor          string           `json:"cursor,omitempty"`
}

// Handler is the DiscoverPartitions Lambda handler.
type Handler struct {
	opts      Options
	silver    *silver.Bucket
	bronze    *bronze.Store
	s3        *s3.Client
	db        *dynamodb.Client
	store     *status.Store
	publisher *queue.Publisher
	metrics   *metrics.Emitter
	log       *slog.Logger
	now       func() time.Time
}

// New builds a handler on real SDK clients.
func New(cfg aws.Config, opts Options, log *slog.Logger, m *metrics.Emitter) *Handler {
	s3c := s3.NewFromConfig(cfg)
	db := dynamodb.NewFromConfig(cfg)
	return &Handler{
		opts:      opts,
		silver:    silver.NewBucket(s3c, opts.SilverBucket),
		bronze:    bronze.New(s3c, opts.BronzeBucket),
		s3:        s3c,
		db:        db,
		store:     status.New(db, opts.StatusTable),
		publisher: queue.NewPublisher(sqs.NewFromConfig(cfg), opts.QueueURL, opts.MessageGroups),
		metrics:   m,
		log:       log,
		now:       time.Now,
	}
}

// Handle runs one discovery.
func (h *Handler) Handle(ctx context.Context, ev Event) (Result, error) {
	var res Result
	if len(ev.Partitions) > 0 {
		return res, h.backfill(ctx, ev, &res)
	}
	cur, err := h.loadCursor(ctx)
	if err != nil {
		return res, err
	}
	parts, err := h.silver.ListPartitions(ctx, h.opts.SilverPrefix, cur.DoneThrough, h.opts.MaxPartitions)
	if err != nil {
		return res, err
	}
	done, contiguous := cur.DoneThrough, true
	for _, pf := range parts {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeReserve {
			res.OutOfTime = true // the cursor stays before this partition
			break
		}
		finished, err := h.partition(ctx, pf, false, &res)
		if err != nil {
			h.saveProgress(ctx, cur, done, &res)
			return res, err
		}
		// The cursor moves over a partition only when it is fully written and every
		// eligible job went out, and only over an unbroken run of such partitions.
		settled := h.now().After(pf.Partition.End().Add(h.opts.Settle))
		if contiguous && finished && settled {
			done = pf.Partition.String()
			h.saveSeen(ctx, pf) // the look-back behind the cursor skips these files
		} else {
			contiguous = false
		}
	}
	h.saveProgress(ctx, cur, done, &res)
	if err := h.lateData(ctx, cur.DoneThrough, &res); err != nil {
		return res, err
	}
	if err := h.retryFailed(ctx, &res); err != nil {
		return res, err
	}
	h.emit(res)
	h.log.Info("discovery done", "result", res)
	return res, nil
}

// timeReserve is the part of the invocation's time kept for publishing what was
// read and saving the cursor.
const timeReserve = 90 * time.Second

// emit writes the run's metrics (contract.Metric*): what went out, what could not,
// the Silver objects skipped and how far the cursor is behind the clock.
func (h *Handler) emit(res Result) {
	ms := []metrics.Metric{
		{Name: contract.MetricJobsPublished, Value: float64(res.Published + res.Retried), Unit: metrics.Count},
		{Name: contract.MetricPublishFailures, Value: float64(res.PublishFailed), Unit: metrics.Count},
		{Name: contract.MetricUnreadableObjects, Value: float64(len(res.MalformedFiles) + len(res.UnreadableFiles)), Unit: metrics.Count},
	}
	if p, err := silver.ParsePartition(res.Cursor); err == nil {
		ms = append(ms, metrics.Metric{Name: contract.MetricCursorLag, Value: h.now().Sub(p.End()).Seconds(), Unit: metrics.Seconds})
	}
	if err := h.metrics.Emit(map[string]string{"Stack": h.opts.Stack}, nil, ms...); err != nil {
		h.log.Warn("emit metrics", "error", err.Error())
	}
}

func (h *Handler) saveProgress(ctx context.Context, cur cursor, done string, res *Result) {
	res.Cursor = done
	if done == cur.DoneThrough {
		return
	}
	// A lost cursor update only means the next run reads those partitions again.
	if err := h.saveCursor(ctx, cur, done); err != nil {
		h.log.Warn("cursor not saved", "error", err.Error(), "cursor", done)
	}
}

func (h *Handler) backfill(ctx context.Context, ev Event, res *Result) error {
	for _, name := range ev.Partitions {
		p, err := silver.ParsePartition(name)
		if err != nil {
			return err
		}
		pf, err := h.silver.Files(ctx, h.opts.SilverPrefix, p)
		if err != nil {
			return err
		}
		if _, err := h.partition(ctx, pf, ev.Force, res); err != nil {
			return err
		}
	}
	h.emit(*res)
	h.log.Info("backfill done", "result", *res)
	return nil
}

// partition publishes the eligible jobs of one partition, at most MaxJobs of them.
// finished reports that nothing eligible was left behind.
func (h *Handler) partition(ctx context.Context, pf silver.PartitionFiles, force bool, res *Result) (finished bool, err error) {
	res.Partitions = append(res.Partitions, pf.Partition.String())
	var postings []contract.Posting
	seen := map[string]bool{}
	unreadable := false
	for _, key := range pf.Keys {
		res.Files++
		stats, err := h.silver.ReadObject(ctx, key, func(p contract.Posting) error {
			if seen[p.JobPostingID] {
				res.DuplicateRows++
				return nil
			}
			seen[p.JobPostingID] = true
			p.Partition = pf.Partition.String()
			postings = append(postings, p)
			return nil
		})
		res.Rows += stats.Rows
		res.InvalidRows += stats.Invalid
		res.Rejected = append(res.Rejected, stats.Rejected[:min(len(stats.Rejected), silver.MaxRejected-len(res.Rejected))]...)
		if len(stats.Rejected) > 0 {
			h.log.Warn("invalid silver rows", "key", key, "invalid", stats.Invalid, "examples", stats.Rejected)
		}
		if errors.Is(err, silver.ErrMalformed) {
			// A malformed file will not heal by itself: report it and go on, so it
			// cannot hold back newer partitions. A backfill rereads it once fixed.
			h.log.Error("malformed silver file skipped", "key", key, "error", err.Error())
			res.MalformedFiles = append(res.MalformedFiles, key)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, err
			}
			// One bad object must not fail every run (T2): skip it, count it, keep
			// the cursor before its partition so the next run reads it again.
			h.log.Error("unreadable silver file skipped", "key", key, "error", err.Error())
			res.UnreadableFiles = append(res.UnreadableFiles, key)
			unreadable = true
		}
	}

	ids := make([]string, len(postings))
	for i, p := range postings {
		ids[i] = p.JobPostingID
	}
	statuses, err := h.statuses(ctx, ids)
	if err != nil {
		return false, err
	}
	// Filter first, then limit: done and in-flight jobs never use up the budget.
	var eligible []candidate
	for i, p := range postings {
		st := statuses[p.JobPostingID]
		switch {
		case st.inFlight():
			res.SkippedInFlight++
		case !force && st.done(h.opts.MaxAttempts):
			res.SkippedDone++
		default:
			eligible = append(eligible, candidate{id: p.JobPostingID, partition: p.Partition, posting: &postings[i], status: st})
		}
	}
	take := min(len(eligible), h.opts.MaxJobs)
	res.Deferred += len(eligible) - take
	n, err := h.publish(ctx, eligible[:take], force)
	res.Published += n.published
	res.PublishFailed += n.failed
	res.SkippedInFlight += n.raced
	return err == nil && !unreadable && n.failed == 0 && take == len(eligible), err
}

// candidate is a job about to be published, with its status before.
type candidate struct {
	id, partition string
	posting       *contract.Posting // nil for a retry: its snapshot is already in Bronze
	status        jobStatus
}

// workers bounds the concurrent snapshot writes and status updates.
const workers = 8

// publish stores snapshots, marks the jobs QUEUED (conditionally, so a concurrent or
// repeated run cannot queue a job twice), publishes them and undoes the mark of any
// job the queue did not take.
func (h *Handler) publish(ctx context.Context, jobs []candidate, force bool) (n outcome, err error) {
	entries := make([]*queue.Entry, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, c := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			entries[i], errs[i] = h.prepare(ctx, c, force)
		}()
	}
	wg.Wait()
	var ready []queue.Entry
	for i, e := range entries {
		if errs[i] != nil {
			// Not marked, or the mark is unknown: publish the others, which are
			// marked, and leave this one to the next run.
			h.log.Error("job not prepared", "job_posting_id", jobs[i].id, "error", errs[i].Error())
			n.failed++
			continue
		}
		if e == nil {
			n.raced++
			continue
		}
		ready = append(ready, *e)
	}
	if len(ready) == 0 {
		return n, nil
	}
	refused, err := h.publisher.Publish(ctx, ready)
	if err != nil {
		return n, err
	}
	prev := make(map[string]jobStatus, len(jobs))
	for _, c := range jobs {
		prev[c.id] = c.status
	}
	pub := make(map[string]int, len(ready))
	for _, e := range ready {
		pub[e.Message.Job.JobPostingID] = e.Message.Publication
	}
	for _, id := range refused {
		if err := h.unmarkQueued(ctx, id, prev[id], pub[id]); err != nil {
			h.log.Error("job left QUEUED without a message", "job_posting_id", id, "error", err.Error())
		}
	}
	if len(refused) > 0 {
		h.log.Warn("jobs not published", "count", len(refused), "job_posting_ids", refused)
	}
	n.published = len(ready) - len(refused)
	n.failed += len(refused)
	h.markSent(ctx, ready, refused)
	return n, nil
}

// markSent records the publications whose messages went out, workers at a time.
// A failed mark is only logged: the reaper then republishes the job after its bound.
func (h *Handler) markSent(ctx context.Context, sent []queue.Entry, refused []string) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, e := range sent {
		id := e.Message.Job.JobPostingID
		if slices.Contains(refused, id) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := queue.MarkSent(ctx, h.store, id, e.Message.Publication); err != nil {
				h.log.Warn("sent publication not recorded; the reaper will republish the job", "job_posting_id", id, "error", err.Error())
			}
		}()
	}
	wg.Wait()
}

// outcome counts what publish did; raced jobs were queued by another run
// between the status read and the conditional update.
type outcome struct{ published, failed, raced int }

// prepare writes the snapshot and the QUEUED mark; nil means another run has it.
func (h *Handler) prepare(ctx context.Context, c candidate, force bool) (*queue.Entry, error) {
	key := contract.PostingKey(c.id)
	if c.posting != nil {
		var err error
		if key, err = h.bronze.PutPosting(ctx, *c.posting); err != nil {
			return nil, err
		}
	}
	publication, err := h.markQueued(ctx, c.id, c.partition, force)
	if err != nil || publication == 0 {
		return nil, err
	}
	e := queue.EntryFor(contract.JobRef{JobPostingID: c.id, Partition: c.partition, PostingKey: key}, publication, force)
	return &e, nil
}

// RetryBacklogPerSlot paces the retries of FAILED jobs by capacity: a run tops the
// queue up to this many messages per concurrency slot, so an outage's failures drain
// as fast as the slots take them (T1), and a queue already full gets none.
const RetryBacklogPerSlot = 10

// retryFailed republishes FAILED jobs that have attempts left, found through the
// status index: at least MaxJobs per run, more while the queue holds fewer than
// RetryBacklogPerSlot messages per slot.
func (h *Handler) retryFailed(ctx context.Context, res *Result) error {
	limit := h.opts.MaxJobs
	if h.opts.MaxConcurrent > 0 {
		depth, err := h.publisher.Depth(ctx)
		if err != nil {
			return err
		}
		limit = max(limit, RetryBacklogPerSlot*h.opts.MaxConcurrent-depth)
	}
	jobs, err := h.failedJobs(ctx, limit)
	if err != nil || len(jobs) == 0 {
		return err
	}
	n, err := h.publish(ctx, jobs, false)
	res.Retried += n.published
	res.PublishFailed += n.failed
	return err
}
