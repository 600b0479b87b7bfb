package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/simulate"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func newSimulateCmd(o *Options) *cobra.Command {
	var (
		jobs, rpm int
		latency   time.Duration
		policy    string
		timeout   time.Duration
		scenario  string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Measure throughput in the local cloud, our policy against the original system's",
		Long: "Runs --jobs generated postings through the whole pipeline of --stack in a fresh local cloud\n" +
			"while the Bedrock emulator answers every call after --latency under a quota of --rpm calls per\n" +
			"minute, and reports jobs per minute against min(rpm/3, concurrency/(3×latency)), state\n" +
			"transitions per job and executions started per job. The local bound replaces 3×latency with\n" +
			"the measured slot hold time (the local cloud's own cost per job). The stack's waits are scaled by\n" +
			"latency / its expected pass latency. --policy both also runs the original system's policy\n" +
			"(lock retry with uncapped backoff then fail, no admission control) in its own cloud.\n" +
			"--scenario hidden-capacity instead gives the emulator a capacity the stack does not know, halves\n" +
			"it for a phase mid-run and restores it, and runs the adaptive controller and the fixed limit side\n" +
			"by side (capacity_ratio, throttled_share, attempts_lost_to_throttling per policy).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			policies := map[string][]simulate.Policy{
				"both": {simulate.Ours, simulate.Original}, "ours": {simulate.Ours}, "original": {simulate.Original},
				"fixed": {simulate.Fixed}, // ours with the limit at the maximum: the handover without the controller's ramp
			}[policy]
			if policies == nil {
				return usageErr("--policy %q: want both, ours, fixed or original", policy)
			}
			// The handlers log to the default logger; the report owns the terminal.
			slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if scenario != "" {
				return runScenario(cmd, s, scenario, jobs, latency, rpm, timeout, o.JSON)
			}
			var results []simulate.Result
			for _, p := range policies {
				fmt.Fprintf(cmd.ErrOrStderr(), "simulating %d jobs on stack %s with the %s policy (latency %v, %d rpm)\n", jobs, o.Stack, p, latency, rpm)
				r, err := simulate.Run(cmd.Context(), simulate.Options{
					Settings: s, Policy: p, Jobs: jobs, Latency: latency, RPM: rpm, Seed: 7, Timeout: timeout,
				})
				if err != nil {
					return fmt.Errorf("%s policy: %w", p, err)
				}
				results = append(results, r)
			}
			if o.JSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
			}
			return printSimulation(cmd.OutOrStdout(), results)
		},
	}
	cmd.Flags().IntVar(&jobs, "jobs", 30, "postings to enrich")
	cmd.Flags().DurationVar(&latency, "latency", 4*time.Second, "latency of every model call")
	cmd.Flags().IntVar(&rpm, "rpm", 60, "the model's requests-per-minute quota (0: none)")
	cmd.Flags().StringVar(&policy, "policy", "both", "both, ours, fixed (ours without the controller) or original")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up a run after this long")
	cmd.Flags().StringVar(&scenario, "scenario", "", "hidden-capacity: adaptive against fixed concurrency under a capacity the stack does not know")
	return cmd
}

func printSimulation(w io.Writer, results []simulate.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "policy\tjobs\tslots\tlatency\trpm\twall\tjobs/min\tbound\tof bound\tslot hold\tlocal bound\tof local\ttransitions/job\texecutions/job\tmodel calls\tthrottled\tpeak slots")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%d\t%v\t%.1f\t%.1f\t%.0f%%\t%v\t%.1f\t%.0f%%\t%.1f\t%.2f\t%d\t%d\t%d\n",
			r.Policy, r.Jobs, r.Concurrency, r.Latency, r.RPM, r.Wall.Round(time.Second), r.JobsPerMinute, r.BoundPerMinute,
			100*r.Efficiency(), r.SlotHold.Round(100*time.Millisecond), r.LocalBoundPerMinute, 100*r.LocalEfficiency(),
			r.TransitionsPerJob, r.ExecutionsPerJob, r.ModelCalls, r.Throttled, r.PeakSlots)
	}
	return tw.Flush()
}

// runScenario runs a named scenario; flags the user set override its defaults.
func runScenario(cmd *cobra.Command, s stacks.Settings, name string, jobs int, latency time.Duration, rpm int, timeout time.Duration, jsonOut bool) error {
	if name != simulate.ScenarioHiddenCapacity {
		return usageErr("--scenario %q: want %s", name, simulate.ScenarioHiddenCapacity)
	}
	h := simulate.DefaultHiddenCapacity(s)
	f := cmd.Flags()
	if f.Changed("jobs") {
		h.Jobs = jobs
	}
	if f.Changed("latency") {
		h.Latency = latency
	}
	if f.Changed("rpm") {
		h.RPM = rpm
	}
	if f.Changed("timeout") {
		h.Timeout = timeout
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "hidden capacity: %d jobs, %d slots at most, latency %v, capacity %d rpm and %d tpm, half of it from %v to %v\n",
		h.Jobs, h.Settings.MaxConcurrentExecutions, h.Latency, h.RPM, h.TPM, h.Phase, 2*h.Phase)
	results, err := h.Run(cmd.Context())
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "policy\tcapacity ratio\tthrottled share\tattempts lost to throttling\tjobs\tcompleted\twall\tmodel calls\tthrottled\tthrottled passes\tthrottled by phase\tpeak slots")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%d\t%d\t%d\t%v\t%d\t%d\t%d\t%v\t%d\n", r.Policy, r.CapacityRatio, r.ThrottledShare, r.AttemptsLostToThrottling,
			r.Jobs, r.Completed, r.Wall.Round(time.Second), r.ModelCalls, r.Throttled, r.Throttles.Passes, r.Throttles.ByPhase, r.PeakSlots)
	}
	return tw.Flush()
}
