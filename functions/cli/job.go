package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func newJobCmd(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "job ID",
		Short: "A job's passes (status, model, tokens, cost, Bronze keys), attempts, last error and execution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
}

type passReport struct {
	Pass         contract.Pass `json:"pass"`
	Status       string        `json:"status"`
	Model        string        `json:"model,omitempty"`
	InputTokens  int           `json:"input_tokens"`
	OutputTokens int           `json:"output_tokens"`
	CostUSD      float64       `json:"cost_usd"`
	Cached       bool          `json:"cached"`
	BronzeKey    string        `json:"bronze_key,omitempty"`
	RawKey       string        `json:"raw_key,omitempty"`
	CompletedAt  string        `json:"completed_at,omitempty"`
}

type jobReport struct {
	ID        string          `json:"job_posting_id"`
	Overall   string          `json:"status"`
	Attempts  int             `json:"attempts"`
	Partition string          `json:"partition,omitempty"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
	Passes    []passReport    `json:"passes"`
	CostUSD   float64         `json:"cost_usd"`
	LastError *status.Failure `json:"last_error,omitempty"`
	// Execution is the claim of the running execution, or else the execution that
	// wrote the last recorded pass (from its Bronze metadata): ExecutionSource says
	// which. A pass served from the cache was written by an earlier execution than the
	// one that recorded it, and the status item does not keep the latter: Note says so.
	Execution       string `json:"execution,omitempty"`
	ExecutionSource string `json:"execution_source,omitempty"` // claim or bronze_writer
	ExecutionARN    string `json:"execution_arn,omitempty"`
	ExecutionStatus string `json:"execution_status,omitempty"`
	Note            string `json:"note,omitempty"`
}

// Where jobReport.Execution comes from.
const (
	sourceClaim  = "claim"
	sourceWriter = "bronze_writer"
)

// job reads one job; a valid id without a status item is ExitNotFound.
func (t *target) job(ctx context.Context, id string) (jobReport, error) {
	if err := checkJobID(id); err != nil {
		return jobReport{}, err
	}
	j, err := t.status.Get(ctx, id)
	if errors.Is(err, status.ErrNotFound) {
		return jobReport{}, notFoundErr("job %s is unknown to stack %s (never discovered)", id, t.names.Stack)
	}
	if err != nil {
		return jobReport{}, err
	}
	r := jobReport{
		ID: j.ID, Overall: j.Overall, Attempts: j.Attempts, Partition: j.Partition,
		CreatedAt: normalTime(j.CreatedAt), UpdatedAt: normalTime(j.UpdatedAt), CostUSD: round(j.CostUSD(), 6), LastError: j.LastError,
		Execution: j.Execution,
	}
	if r.Execution != "" {
		r.ExecutionSource = sourceClaim
	}
	last, lastCached := "", false
	for _, p := range contract.Passes {
		rec, ok := j.Passes[p]
		if !ok {
			r.Passes = append(r.Passes, passReport{Pass: p, Status: "not run"})
			continue
		}
		r.Passes = append(r.Passes, passReport{
			Pass: p, Status: rec.Status, Model: rec.Model, InputTokens: rec.InputTokens, OutputTokens: rec.OutputTokens,
			CostUSD: round(rec.CostUSD, 6), Cached: rec.Cached, BronzeKey: rec.BronzeKey,
			RawKey: strings.TrimSuffix(rec.BronzeKey, ".json") + "-raw.txt", CompletedAt: normalTime(rec.CompletedAt),
		})
		if rec.BronzeKey != "" {
			last, lastCached = rec.BronzeKey, rec.Cached
		}
	}
	if r.Execution == "" && last != "" {
		if r.Execution, err = t.writer(ctx, last); err != nil {
			return r, err
		}
		if r.Execution != "" {
			r.ExecutionSource = sourceWriter
		}
		if lastCached {
			r.Note = "the last recorded pass came from the Bronze cache: this execution wrote it, a later one (not recorded) served it"
		}
	}
	if r.Execution != "" {
		smARN, err := t.stateMachineARN(ctx)
		if err != nil {
			return r, err
		}
		if r.ExecutionARN, r.ExecutionStatus, err = t.executionStatus(ctx, smARN, r.Execution); err != nil {
			return r, err
		}
	}
	return r, nil
}

// writer is the execution recorded in a pass's Bronze metadata.
func (t *target) writer(ctx context.Context, key string) (string, error) {
	s, err := stackSettings(t.names.Stack)
	if err != nil {
		return "", err
	}
	c, found, err := bronze.New(t.s3, s.BronzeBucket).Get(ctx, key)
	if err != nil || !found {
		return "", err
	}
	return c.Doc.Metadata.ExecutionID, nil
}

func (r jobReport) print(w io.Writer) {
	if r.Attempts == 0 {
		// A retry resets the count; the execution it started has not claimed the job yet.
		fmt.Fprintf(w, "job %s: %s, no attempt counted yet", r.ID, r.Overall)
	} else {
		fmt.Fprintf(w, "job %s: %s after %s", r.ID, r.Overall, plural(r.Attempts, "attempt"))
	}
	if r.Partition != "" {
		fmt.Fprintf(w, " (partition %s)", r.Partition)
	}
	fmt.Fprintf(w, "\n  created %s, updated %s, cost $%.5f\n", r.CreatedAt, r.UpdatedAt, r.CostUSD)
	for _, p := range r.Passes {
		fmt.Fprintf(w, "  %s %-10s", p.Pass, p.Status)
		if p.BronzeKey != "" {
			cached := ""
			if p.Cached {
				cached = ", cached"
			}
			fmt.Fprintf(w, " %s, %d+%d tokens, $%.5f%s\n    %s\n", p.Model, p.InputTokens, p.OutputTokens, p.CostUSD, cached, p.BronzeKey)
			continue
		}
		fmt.Fprintln(w)
	}
	if r.LastError != nil {
		fmt.Fprintf(w, "  last error at %s: %s: %s\n", r.LastError.Step, r.LastError.Error, r.LastError.Cause)
	}
	switch r.ExecutionSource {
	case sourceClaim:
		fmt.Fprintf(w, "  held by execution %s (%s)\n", r.ExecutionARN, r.ExecutionStatus)
	case sourceWriter:
		fmt.Fprintf(w, "  last pass written by execution %s (%s)\n", r.ExecutionARN, r.ExecutionStatus)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", r.Note)
	}
}
