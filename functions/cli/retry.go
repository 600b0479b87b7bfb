package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func newRetryCmd(o *Options) *cobra.Command {
	var (
		force    bool
		fromPass string
	)
	cmd := &cobra.Command{
		Use:   "retry ID",
		Short: "Start a new execution of a job, as InvokeEnrichment does, with a fresh attempt budget",
		Long: "Resets the job's attempts to 0 under a new publication (clearing the claim of an ended\n" +
			"execution), then starts that publication's execution: a name never used before. The state machine resumes at the first pass not\n" +
			"recorded as COMPLETED; --from-pass P forgets the recorded passes from P on, so they run\n" +
			"again (served from the Bronze cache when model and prompt version are unchanged).\n" +
			"--force re-runs every pass against the model. Refused while an execution runs the job\n" +
			"or a queue message is about to, and for a COMPLETED job without --force or --from-pass.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var from contract.Pass
			if fromPass != "" {
				p, err := contract.ParsePass(fromPass)
				if err != nil {
					return usageErr("--from-pass: %v", err)
				}
				from = p
			}
			if force && from != "" {
				return usageErr("--force re-runs every pass; --from-pass applies without it")
			}
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.retry(cmd.Context(), args[0], force, from)
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "re-run every pass against the model, bypassing the Bronze cache")
	cmd.Flags().StringVar(&fromPass, "from-pass", "", "re-run from this pass on: pass1, pass2 or pass3")
	_ = cmd.RegisterFlagCompletionFunc("from-pass", completePasses)
	return cmd
}

type retryReport struct {
	ID           string          `json:"job_posting_id"`
	Previous     string          `json:"previous_status"`
	Forgotten    []contract.Pass `json:"forgotten_passes,omitempty"`
	Force        bool            `json:"force"`
	Execution    string          `json:"execution"`
	ExecutionARN string          `json:"execution_arn"`
	Existed      bool            `json:"existed"` // an execution of that name had started already
}

func (t *target) retry(ctx context.Context, id string, force bool, from contract.Pass) (retryReport, error) {
	if err := checkJobID(id); err != nil {
		return retryReport{}, err
	}
	j, err := t.status.Get(ctx, id)
	if errors.Is(err, status.ErrNotFound) {
		return retryReport{}, notFoundErr("job %s is unknown to stack %s (never discovered)", id, t.names.Stack)
	}
	if err != nil {
		return retryReport{}, err
	}
	smARN, err := t.stateMachineARN(ctx)
	if err != nil {
		return retryReport{}, err
	}
	if j.Execution != "" {
		_, st, err := t.executionStatus(ctx, smARN, j.Execution)
		if err != nil {
			return retryReport{}, err
		}
		if st == string(sfntypes.ExecutionStatusRunning) || st == string(sfntypes.ExecutionStatusPendingRedrive) {
			return retryReport{}, refusedErr("job %s is being processed by execution %s (%s)", id, j.Execution, st)
		}
	}
	switch {
	case j.Overall == contract.StatusQueued:
		return retryReport{}, refusedErr("job %s is QUEUED: its queue message starts it (see `enrichctl status` and `enrichctl dlq redrive`)", id)
	case j.Overall == contract.StatusCompleted && !force && from == "":
		return retryReport{}, refusedErr("job %s is COMPLETED: --force re-runs every pass, --from-pass P re-runs from P on", id)
	}
	r := retryReport{ID: id, Previous: j.Overall, Force: force}
	if from != "" {
		for _, p := range contract.Passes[slices.Index(contract.Passes, from):] {
			if _, ok := j.Passes[p]; ok {
				r.Forgotten = append(r.Forgotten, p)
			}
		}
	}
	row, err := t.resetForRetry(ctx, j, r.Forgotten)
	if err != nil {
		return r, err
	}
	// The publication the reset wrote names the execution: never an earlier one's.
	r.Execution = contract.PublicationName(id, row.Publication)
	msg := contract.QueueMessage{
		Job:         contract.JobRef{JobPostingID: id, Partition: j.Partition, PostingKey: contract.PostingKey(id)},
		Force:       force,
		Publication: row.Publication,
	}
	if r.Existed, err = invoke.Start(ctx, t.sfn, smARN, r.Execution, msg); err != nil {
		return r, err
	}
	r.ExecutionARN, err = cleanup.ExecutionARN(smARN, r.Execution)
	return r, err
}

// resetForRetry applies status.Retry: a fresh attempt budget, no claim, the forgotten
// passes removed, and a new publication. It is conditional on the row as read, so a
// job that discovery queued or an execution claimed meanwhile is left alone.
func (t *target) resetForRetry(ctx context.Context, j status.Job, forget []contract.Pass) (status.Job, error) {
	row, err := t.status.Apply(ctx, status.Retry.Forgetting(forget...), j.ID, map[string]types.AttributeValue{
		":seen": status.S(j.Overall), ":seenat": status.S(j.UpdatedAt),
		":token": status.S(status.NewToken()), ":now": status.S(status.Timestamp(time.Now())),
	})
	if errors.Is(err, status.ErrConflict) {
		return row, refusedErr("job %s changed while being reset (queued or claimed meanwhile): look at it with `enrichctl job %s`", j.ID, j.ID)
	}
	if err != nil {
		return row, fmt.Errorf("reset job %s for a retry: %w", j.ID, err)
	}
	return row, nil
}

func (r retryReport) print(w io.Writer) {
	verb := "started"
	if r.Existed {
		verb = "already running"
	}
	fmt.Fprintf(w, "job %s (was %s): execution %s %s\n  %s\n", r.ID, r.Previous, r.Execution, verb, r.ExecutionARN)
	if len(r.Forgotten) > 0 {
		fmt.Fprintf(w, "  forgot the recorded %s: they run again\n", joinPasses(r.Forgotten))
	}
	if r.Force {
		fmt.Fprintln(w, "  force: every pass is sent to the model")
	}
}
