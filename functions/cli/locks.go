package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
)

func newLocksCmd(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "locks",
		Short: "Semaphore slots: count, limit, holders with their age and execution status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			s, err := t.slots(cmd.Context())
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), s, s.print)
		},
	}
}

func newReconcileCmd(o *Options) *cobra.Command {
	var apply bool
	reconcile := &cobra.Command{
		Use:   "reconcile",
		Short: "Release slots of ended executions and repair the slot count (dry run unless --apply)",
		Long: "Shows what CleanupLocks' sweep would do: release the slots of ended executions and of\n" +
			"unknown ones older than the stack's lock timeout (a RUNNING execution is never touched),\n" +
			"and set the count to the number of holders. --apply runs that sweep.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.reconcile(cmd.Context(), s.LockTimeout, apply)
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
	reconcile.Flags().BoolVar(&apply, "apply", false, "release and repair; without it nothing is changed")
	return reconcile
}

type reconcileReport struct {
	Applied bool `json:"applied"`
	// Release lists the holders the sweep releases (dry run) or released (--apply).
	Release []holder `json:"release"`
	Keep    []holder `json:"keep"`
	// Drift is count − holders before the repair.
	Drift int `json:"drift"`
	// Sweep is what the applied sweep counted.
	Sweep *cleanup.Result `json:"sweep,omitempty"`
}

func (t *target) reconcile(ctx context.Context, lockTimeout time.Duration, apply bool) (reconcileReport, error) {
	s, err := t.slots(ctx)
	if err != nil {
		return reconcileReport{}, err
	}
	r := reconcileReport{Applied: apply, Drift: s.Drift, Release: []holder{}, Keep: []holder{}}
	for _, h := range s.Holders {
		if cleanup.Releasable(sfntypes.ExecutionStatus(h.Status), time.Duration(h.AgeSeconds)*time.Second, lockTimeout) {
			r.Release = append(r.Release, h)
		} else {
			r.Keep = append(r.Keep, h)
		}
	}
	if !apply {
		return r, nil
	}
	h, err := t.reaper(ctx, lockTimeout, 0)
	if err != nil {
		return r, err
	}
	sweep, err := h.Sweep(ctx)
	r.Sweep = &sweep
	if err != nil {
		return r, fmt.Errorf("sweep: %w", err)
	}
	return r, nil
}

func (r reconcileReport) print(w io.Writer) {
	verb, drift := "would release", "would set the count to the holders"
	if r.Applied {
		verb, drift = "released", "set the count to the holders"
	}
	for _, h := range r.Release {
		fmt.Fprintf(w, "%s %s (%s, held %s)\n", verb, h.Execution, h.Status, time.Duration(h.AgeSeconds)*time.Second)
	}
	for _, h := range r.Keep {
		fmt.Fprintf(w, "keep %s (%s, held %s)\n", h.Execution, h.Status, time.Duration(h.AgeSeconds)*time.Second)
	}
	if r.Drift != 0 {
		fmt.Fprintf(w, "count drift %+d: %s\n", r.Drift, drift)
	}
	if len(r.Release) == 0 && r.Drift == 0 {
		fmt.Fprintln(w, "nothing to reconcile")
	}
	if !r.Applied && (len(r.Release) > 0 || r.Drift != 0) {
		fmt.Fprintln(w, "dry run: add --apply to do it")
	}
}
