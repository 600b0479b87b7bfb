package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func newStuckCmd(o *Options) *cobra.Command {
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "stuck",
		Short: "Non-terminal jobs with no live message or execution: age, last step, why",
		Long: "Lists the QUEUED, PENDING and IN_PROGRESS jobs whose last transition is older than\n" +
			"--older-than (the stack's lock timeout by default) and whose expected execution is\n" +
			"missing or ended, by the rule of the cleanup sweep's reaper, which settles them on its\n" +
			"next run. `enrichctl requeue --yes` settles them now.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.stuck(cmd.Context(), olderThan, false)
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "only rows unchanged for longer than this (default: the stack's lock timeout)")
	return cmd
}

// stuckJob is one row of `enrichctl stuck`.
type stuckJob struct {
	ID          string `json:"job_posting_id"`
	Status      string `json:"status"`
	AgeSeconds  int    `json:"age_seconds"`
	LastStep    string `json:"last_step,omitempty"`
	Attempts    int    `json:"attempts"`
	Publication int    `json:"publication"`
	Execution   string `json:"execution"`
	Why         string `json:"why"`
}

type stuckReport struct {
	Stack            string         `json:"stack"`
	Applied          bool           `json:"applied"`
	Jobs             []stuckJob     `json:"jobs"`
	OldestAgeSeconds int            `json:"oldest_non_terminal_age_seconds"`
	Result           cleanup.Result `json:"result"`
}

// reaper is the cleanup handler of the stack, run from here: one rule for the sweep
// and the operator. Zero durations take the stack's lock timeout.
func (t *target) reaper(ctx context.Context, lockTimeout, olderThan time.Duration) (*cleanup.Handler, error) {
	s, err := stackSettings(t.names.Stack)
	if err != nil {
		return nil, err
	}
	smARN, err := t.stateMachineARN(ctx)
	if err != nil {
		return nil, err
	}
	queueURL, err := t.queueURL(ctx, t.names.Queue)
	if err != nil {
		return nil, err
	}
	if lockTimeout <= 0 {
		lockTimeout = s.LockTimeout
	}
	if olderThan <= 0 {
		olderThan = lockTimeout
	}
	return cleanup.New(t.cfg, cleanup.Options{
		StateMachineARN: smARN, SemaphoreTable: t.names.SemaphoreTable, StatusTable: t.names.StatusTable,
		LockTimeout: lockTimeout, QueueURL: queueURL, MessageGroups: s.MessageGroups, MaxAttempts: s.MaxAttempts,
		StuckAfter: olderThan, Stack: t.names.Stack,
	}, slog.New(slog.DiscardHandler), metrics.New(io.Discard, contract.MetricsNamespace)), nil
}

// stuck lists the stuck jobs and, with apply, settles them as the reaper does.
func (t *target) stuck(ctx context.Context, olderThan time.Duration, apply bool) (stuckReport, error) {
	r := stuckReport{Stack: t.names.Stack, Applied: apply, Jobs: []stuckJob{}}
	h, err := t.reaper(ctx, 0, olderThan)
	if err != nil {
		return r, err
	}
	found, oldest, err := h.Reap(ctx, apply, &r.Result)
	if err != nil {
		return r, err
	}
	r.OldestAgeSeconds = int(oldest.Seconds())
	for _, s := range found {
		j := stuckJob{ID: s.Job.ID, Status: s.Job.Overall, Attempts: s.Job.Attempts, Publication: s.Job.Publication, Execution: s.Execution, Why: s.Why}
		if at, err := time.Parse(time.RFC3339Nano, s.Job.UpdatedAt); err == nil {
			j.AgeSeconds = int(time.Since(at).Seconds())
		}
		if s.Job.LastError != nil {
			j.LastStep = s.Job.LastError.Step
		}
		r.Jobs = append(r.Jobs, j)
	}
	return r, nil
}

func (r stuckReport) print(w io.Writer) {
	verb := "stuck"
	if r.Applied {
		verb = "settled"
	}
	fmt.Fprintf(w, "stack %s: %d jobs %s; oldest non-terminal job unchanged for %s\n", r.Stack, len(r.Jobs), verb, time.Duration(r.OldestAgeSeconds)*time.Second)
	for _, j := range r.Jobs {
		step := j.LastStep
		if step == "" {
			step = "-"
		}
		fmt.Fprintf(w, "  %-12s %-12s age %-10s attempts %d  last step %-8s %s\n", j.ID, j.Status, time.Duration(j.AgeSeconds)*time.Second, j.Attempts, step, j.Why)
	}
	if r.Applied {
		fmt.Fprintf(w, "requeued %d, failed or given up %d, errors %d\n", r.Result.Requeued, r.Result.ClaimsReleased-r.Result.Requeued, r.Result.Errors)
	}
}

// lifecycleReport is the part of `enrichctl status` about jobs nothing moves.
type lifecycleReport struct {
	Stuck            int    `json:"stuck"`
	OldestAgeSeconds int    `json:"oldest_non_terminal_age_seconds"`
	Cursor           string `json:"cursor"`
	CursorLagSeconds *int   `json:"cursor_lag_seconds,omitempty"` // nil before the first partition
}

func (t *target) lifecycle(ctx context.Context) (*lifecycleReport, error) {
	s, err := stackSettings(t.names.Stack)
	if err != nil {
		return nil, nil // outside the repository: the rest of the report still helps
	}
	r, err := t.stuck(ctx, 0, false)
	if err != nil {
		return nil, err
	}
	l := &lifecycleReport{Stuck: len(r.Jobs), OldestAgeSeconds: r.OldestAgeSeconds}
	if l.Cursor, err = discover.Cursor(ctx, t.s3, s.BronzeBucket, contract.DefaultCursorKeyName); err != nil {
		return nil, err
	}
	if p, err := silver.ParsePartition(l.Cursor); err == nil {
		lag := int(time.Since(p.End()).Seconds())
		l.CursorLagSeconds = &lag
	}
	return l, nil
}

func (l *lifecycleReport) print(w io.Writer) {
	if l == nil {
		return
	}
	lag := "none yet"
	if l.CursorLagSeconds != nil {
		lag = (time.Duration(*l.CursorLagSeconds) * time.Second).String() + " behind"
	}
	fmt.Fprintf(w, "stuck jobs: %d (`enrichctl stuck`); oldest unfinished job unchanged for %s\ndiscovery cursor: %q, %s\n",
		l.Stuck, time.Duration(l.OldestAgeSeconds)*time.Second, l.Cursor, lag)
}
