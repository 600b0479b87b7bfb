package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/queue"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func newRequeueCmd(o *Options) *cobra.Command {
	var (
		yes       bool
		selection string
		olderThan time.Duration
		limit     int
	)
	cmd := &cobra.Command{
		Use:   "requeue",
		Short: "Recover stuck jobs, or every FAILED job, in bulk (dry run unless --yes)",
		Long: "Without --status, settles the jobs `enrichctl stuck` lists, as the cleanup sweep would:\n" +
			"a job that never started its attempt goes to a new message, one whose attempt ended\n" +
			"is marked FAILED (or PERMANENTLY_FAILED after its last attempt).\n" +
			"With --status FAILED, hands every FAILED job with attempts left to a new message now,\n" +
			"instead of waiting for discovery. Each requeued job gets a new publication, hence an\n" +
			"execution name never used before. Prints what it would do unless --yes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			switch selection {
			case "":
				r, err := t.stuck(cmd.Context(), olderThan, yes)
				if err != nil {
					return err
				}
				return o.output(cmd.OutOrStdout(), r, r.print)
			case contract.StatusFailed:
				r, err := t.requeueFailed(cmd.Context(), limit, yes)
				if err != nil {
					return err
				}
				return o.output(cmd.OutOrStdout(), r, r.print)
			}
			return usageErr("--status %q: only FAILED can be requeued in bulk (use `enrichctl retry ID` for a job out of attempts)", selection)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "apply; without it nothing is written")
	cmd.Flags().StringVar(&selection, "status", "", "requeue every job of this status (FAILED) instead of the stuck ones")
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "stuck rows unchanged for longer than this (default: the stack's lock timeout)")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many FAILED jobs")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{contract.StatusFailed}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

type requeueReport struct {
	Stack    string   `json:"stack"`
	Applied  bool     `json:"applied"`
	Selected []string `json:"selected"`
	Requeued int      `json:"requeued"`
	Skipped  int      `json:"skipped"` // out of attempts, or changed meanwhile
	Errors   []string `json:"errors,omitempty"`
}

// requeueFailed hands FAILED jobs with attempts left to new messages.
func (t *target) requeueFailed(ctx context.Context, limit int, apply bool) (requeueReport, error) {
	r := requeueReport{Stack: t.names.Stack, Applied: apply, Selected: []string{}}
	s, err := stackSettings(t.names.Stack)
	if err != nil {
		return r, err
	}
	jobs, err := t.status.ListByStatus(ctx, contract.StatusFailed, limit)
	if err != nil {
		return r, err
	}
	var pub *queue.Publisher
	if apply {
		url, err := t.queueURL(ctx, t.names.Queue)
		if err != nil {
			return r, err
		}
		pub = queue.NewPublisher(t.sqs, url, s.MessageGroups)
	}
	for _, j := range jobs {
		if j.Attempts >= s.MaxAttempts {
			r.Skipped++
			continue
		}
		r.Selected = append(r.Selected, j.ID)
		if !apply {
			continue
		}
		_, err := pub.Requeue(ctx, t.status, j, time.Now())
		switch {
		case errors.Is(err, status.ErrConflict):
			r.Skipped++
		case err != nil:
			r.Errors = append(r.Errors, err.Error())
		default:
			r.Requeued++
		}
	}
	return r, nil
}

func (r requeueReport) print(w io.Writer) {
	if !r.Applied {
		fmt.Fprintf(w, "stack %s: would requeue %d FAILED jobs (%d out of attempts left alone); run again with --yes\n", r.Stack, len(r.Selected), r.Skipped)
		return
	}
	fmt.Fprintf(w, "stack %s: requeued %d FAILED jobs, skipped %d, errors %d\n", r.Stack, r.Requeued, r.Skipped, len(r.Errors))
	for _, e := range r.Errors {
		fmt.Fprintln(w, "  "+e)
	}
}
