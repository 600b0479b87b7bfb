package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func newBackfillCmd(o *Options) *cobra.Command {
	var (
		from, to       string
		batch          int
		force, restart bool
	)
	cmd := &cobra.Command{
		Use:   "backfill --from PARTITION --to PARTITION",
		Short: "Publish the jobs of a range of Silver partitions, in bounded batches, resumably",
		Long: "Publishes the jobs of every Silver partition from --from to --to (inclusive, e.g.\n" +
			"year=2026/month=01/day=05/hour=00) through DiscoverPartitions' own path: jobs that are\n" +
			"done, queued or running are skipped, so a rerun never duplicates them. Each call publishes\n" +
			"at most --batch jobs of one partition. After each partition a checkpoint is written to\n" +
			"Bronze; an interrupted backfill of the same range resumes after the last finished\n" +
			"partition (--restart ignores the checkpoint). --force also republishes completed jobs,\n" +
			"asking the passes to bypass their cache.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			first, last, err := partitionRange(from, to)
			if err != nil {
				return err
			}
			s, err := o.settings()
			if err != nil {
				return err
			}
			if batch <= 0 {
				batch = s.MaxJobsPerPartition
			}
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.backfill(cmd.Context(), cmd.ErrOrStderr(), s, backfillRange{first: first, last: last, batch: batch, force: force, restart: restart})
			// What was published before a failure is reported too.
			if err == nil || len(r.Partitions) > 0 {
				if perr := o.output(cmd.OutOrStdout(), r, r.print); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first partition, year=YYYY/month=MM/day=DD/hour=HH")
	cmd.Flags().StringVar(&to, "to", "", "last partition (inclusive)")
	cmd.Flags().IntVar(&batch, "batch", 0, "jobs published per call (default: the stack's maxJobsPerPartition)")
	cmd.Flags().BoolVar(&force, "force", false, "republish completed jobs too and bypass the passes' cache")
	cmd.Flags().BoolVar(&restart, "restart", false, "ignore the checkpoint of an earlier run of this range")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// partitionRange parses and orders the range; a malformed or reversed range is a
// usage error.
func partitionRange(from, to string) (silver.Partition, silver.Partition, error) {
	first, err := silver.ParsePartition(from)
	if err != nil {
		return first, first, usageErr("--from: %v", err)
	}
	last, err := silver.ParsePartition(to)
	if err != nil {
		return first, last, usageErr("--to: %v", err)
	}
	if last.Hour.Before(first.Hour) {
		return first, last, usageErr("--to %s is before --from %s", to, from)
	}
	return first, last, nil
}

type backfillRange struct {
	first, last    silver.Partition
	batch          int
	force, restart bool
}

// checkpointKey names the Bronze object that records the progress of one range.
func (b backfillRange) checkpointKey() string {
	const hour = "2006010215"
	return path.Dir(contract.DefaultCursorKeyName) + "/backfill-" + b.first.Hour.Format(hour) + "-" + b.last.Hour.Format(hour) + ".json"
}

// checkpoint is the progress of a backfill: every partition up to DoneThrough is
// fully published.
type checkpoint struct {
	DoneThrough string    `json:"done_through"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type backfillReport struct {
	From         string   `json:"from"`
	To           string   `json:"to"`
	Checkpoint   string   `json:"checkpoint"`
	ResumedAfter string   `json:"resumed_after,omitempty"`
	Partitions   []string `json:"partitions"`
	Calls        int      `json:"calls"`
	Rows         int      `json:"rows"`
	InvalidRows  int      `json:"invalid_rows"`
	Published    int      `json:"published"`
	SkippedDone  int      `json:"skipped_done"`
	SkippedBusy  int      `json:"skipped_in_flight"`
	// UnreadableFiles could not be read (malformed parquet, not parquet, denied, gone):
	// their rows were not published, and the checkpoint stops before their partition
	// so a rerun, after the files are fixed, reads them.
	UnreadableFiles []string `json:"unreadable_files"`
	// CheckpointAt is the last partition the checkpoint records as fully published.
	CheckpointAt string `json:"checkpoint_at,omitempty"`
}

func (t *target) backfill(ctx context.Context, progress io.Writer, s stacks.Settings, b backfillRange) (backfillReport, error) {
	r := backfillReport{From: b.first.String(), To: b.last.String(), Checkpoint: b.checkpointKey(), Partitions: []string{}, UnreadableFiles: []string{}}
	after := b.first.Hour.Add(-time.Hour)
	if !b.restart {
		cp, err := t.readCheckpoint(ctx, s.BronzeBucket, r.Checkpoint)
		if err != nil {
			return r, err
		}
		if cp != "" {
			p, err := silver.ParsePartition(cp)
			if err != nil {
				return r, fmt.Errorf("checkpoint s3://%s/%s: %w", s.BronzeBucket, r.Checkpoint, err)
			}
			if !p.Hour.Before(b.last.Hour) {
				return r, refusedErr("backfill %s .. %s finished already (checkpoint s3://%s/%s): --restart runs it again", r.From, r.To, s.BronzeBucket, r.Checkpoint)
			}
			after, r.ResumedAfter, r.CheckpointAt = p.Hour, cp, cp
		}
	}
	hours := int(b.last.Hour.Sub(after) / time.Hour)
	listed, err := silver.NewBucket(t.s3, s.SilverBucket).ListPartitions(ctx, s.SilverPrefix, silver.Partition{Hour: after}.String(), hours)
	if err != nil {
		return r, err
	}
	var parts []silver.Partition
	for _, pf := range listed {
		if !pf.Partition.Hour.After(b.last.Hour) {
			parts = append(parts, pf.Partition)
		}
	}
	if len(parts) == 0 {
		return r, refusedErr("no Silver partitions from %s to %s under s3://%s/%s: nothing to backfill", r.From, r.To, s.SilverBucket, s.SilverPrefix)
	}
	queueURL, err := t.queueURL(ctx, t.names.Queue)
	if err != nil {
		return r, err
	}
	h := discover.New(t.cfg, discover.Options{
		SilverBucket: s.SilverBucket, SilverPrefix: s.SilverPrefix, BronzeBucket: s.BronzeBucket,
		StatusTable: t.names.StatusTable, QueueURL: queueURL, MaxPartitions: 1, MaxJobs: b.batch,
		MaxAttempts: s.MaxAttempts, MessageGroups: s.MessageGroups, CursorKey: contract.DefaultCursorKeyName,
	}, slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn})), metrics.New(io.Discard, contract.MetricsNamespace))

	bar := newBar(progress, len(parts), "partitions")
	// Once the checkpoint has stopped before a partition with unreadable files, later
	// partitions are still published (a rerun skips them) but not recorded.
	contiguous := true
	for _, p := range parts {
		before := len(r.UnreadableFiles)
		if err := t.backfillPartition(ctx, h, p, b.force, &r); err != nil {
			bar.stop()
			return r, fmt.Errorf("partition %s (rerun the same command to resume): %w", p, err)
		}
		contiguous = contiguous && len(r.UnreadableFiles) == before
		if contiguous {
			if err := t.writeCheckpoint(ctx, s.BronzeBucket, r.Checkpoint, p.String()); err != nil {
				bar.stop()
				return r, err
			}
			r.CheckpointAt = p.String()
		}
		r.Partitions = append(r.Partitions, p.String())
		bar.step(fmt.Sprintf("partitions (%d jobs published)", r.Published), p.String())
	}
	bar.done()
	if n := len(r.UnreadableFiles); n > 0 {
		return r, &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s could not be read (listed above); fix or remove them, then rerun the same command: "+
			"it resumes after %s and skips the jobs published already", plural(n, "Silver file"), orNone(r.CheckpointAt))}
	}
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "nothing (the checkpoint was not written)"
	}
	return s
}

// backfillPartition publishes one partition in batches until nothing eligible is
// left: jobs of earlier batches are QUEUED by then, so each call takes the next ones.
func (t *target) backfillPartition(ctx context.Context, h *discover.Handler, p silver.Partition, force bool, r *backfillReport) error {
	for first := true; ; first = false {
		res, err := h.Handle(ctx, discover.Event{Partitions: []string{p.String()}, Force: force})
		if err != nil {
			return err
		}
		r.Calls++
		r.Published += res.Published
		if first {
			r.UnreadableFiles = append(r.UnreadableFiles, res.MalformedFiles...)
			r.UnreadableFiles = append(r.UnreadableFiles, res.UnreadableFiles...)
			r.Rows += res.Rows
			r.InvalidRows += res.InvalidRows
			r.SkippedDone += res.SkippedDone
			r.SkippedBusy += res.SkippedInFlight
		}
		switch {
		case res.PublishFailed > 0:
			return fmt.Errorf("%d jobs could not be published", res.PublishFailed)
		case res.Deferred == 0:
			return nil
		case res.Published == 0:
			return fmt.Errorf("%d jobs left but none could be queued", res.Deferred)
		}
	}
}

func (t *target) readCheckpoint(ctx context.Context, bucket, key string) (string, error) {
	out, err := t.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	var cp checkpoint
	if err := json.NewDecoder(out.Body).Decode(&cp); err != nil {
		return "", fmt.Errorf("decode checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	return cp.DoneThrough, nil
}

func (t *target) writeCheckpoint(ctx context.Context, bucket, key, done string) error {
	body, err := json.Marshal(checkpoint{DoneThrough: done, UpdatedAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	_, err = t.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("write checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

func (r backfillReport) print(w io.Writer) {
	if r.ResumedAfter != "" {
		fmt.Fprintf(w, "resumed after %s\n", r.ResumedAfter)
	}
	fmt.Fprintf(w, "backfill %s .. %s: %d partitions, %d rows (%d invalid), %d calls\n", r.From, r.To, len(r.Partitions), r.Rows, r.InvalidRows, r.Calls)
	fmt.Fprintf(w, "  published %d jobs; skipped %d done and %d queued or running\n", r.Published, r.SkippedDone, r.SkippedBusy)
	for _, f := range r.UnreadableFiles {
		fmt.Fprintf(w, "  unreadable, not published: %s\n", f)
	}
	fmt.Fprintf(w, "  checkpoint %s at %s\n", r.Checkpoint, orNone(r.CheckpointAt))
}
