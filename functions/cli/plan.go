package cli

import (
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Tokens of an average job, per pass: the planning assumption (docs/operations.md).
// pass1 reads the prompt, schema and posting (a description is cut at 12,000
// characters, about 3,000 tokens); pass2 also reads pass1's result and pass3 both
// earlier results. Outputs include the reasoning tokens the models bill as output.
var (
	planInputTokens  = [stacks.CallsPerJob]int{4000, 5500, 7000}
	planOutputTokens = [stacks.CallsPerJob]int{1500, 1500, 2500}
)

// Thresholds of the capacity warnings: how far a limit may sit above the binding one
// before the difference counts as waste rather than headroom.
const (
	idleSlotsFactor   = 1.25
	unusedQuotaFactor = 2
)

func newPlanCmd(o *Options) *cobra.Command {
	var jobs int
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Throughput, duration, cost per 1,000 jobs and the binding limit of --stack",
		Long: "From Pulumi.<stack>.yaml and the model price table: jobs per minute, hours for --jobs\n" +
			"jobs, cost per 1,000 jobs, and which limit binds (concurrency, requests or tokens per\n" +
			"minute), with a warning when the configuration wastes capacity. Assumes every model call\n" +
			"takes the stack's expectedPassLatency and an average job uses the tokens shown.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jobs <= 0 {
				return usageErr("--jobs %d: want a positive number", jobs)
			}
			s, err := o.settings()
			if err != nil {
				return err
			}
			p := plan(s, jobs)
			return o.output(cmd.OutOrStdout(), p, p.print)
		},
	}
	cmd.Flags().IntVar(&jobs, "jobs", 10000, "backlog to plan for")
	return cmd
}

type planReport struct {
	Stack           string   `json:"stack"`
	Jobs            int      `json:"jobs"`
	JobsPerMinute   float64  `json:"jobs_per_minute"`
	Hours           float64  `json:"hours"`
	CostPer1000Jobs float64  `json:"cost_per_1000_jobs_usd"`
	Priced          bool     `json:"priced"` // false: a model has no price, the cost is partial
	Binding         string   `json:"binding_limit"`
	ByConcurrency   float64  `json:"by_concurrency"`
	ByRequests      float64  `json:"by_requests"`
	ByTokens        *float64 `json:"by_tokens"` // null when the tokens-per-minute quota is unknown

	Slots          int                     `json:"max_concurrent_executions"`
	RequestsPerMin int                     `json:"bedrock_requests_per_minute"`
	TokensPerMin   int                     `json:"bedrock_tokens_per_minute"`
	CallSeconds    float64                 `json:"expected_pass_latency_seconds"`
	Models         []string                `json:"models"`
	InputTokens    [stacks.CallsPerJob]int `json:"input_tokens_per_pass"`
	OutputTokens   [stacks.CallsPerJob]int `json:"output_tokens_per_pass"`
	Warnings       []string                `json:"warnings"`
}

func plan(s stacks.Settings, jobs int) planReport {
	u := stacks.Usage{InputTokens: planInputTokens, OutputTokens: planOutputTokens, Prices: map[string]stacks.Price{}}
	var warnings []string
	for _, m := range s.Models() {
		p, ok := llm.Price(m)
		if !ok {
			warnings = append(warnings, fmt.Sprintf("model %s has no price in the table: the cost leaves it out", m))
			continue
		}
		u.Prices[m] = stacks.Price{InputPerMTok: p.InputPerMillion, OutputPerMTok: p.OutputPerMillion}
	}
	c := stacks.Plan(s, jobs, u)
	r := planReport{
		Stack: s.Stack, Jobs: jobs, JobsPerMinute: c.JobsPerMinute, Hours: c.Hours, CostPer1000Jobs: c.CostPer1000Jobs,
		Priced: c.Priced, Binding: c.Binding, ByConcurrency: c.ByConcurrency, ByRequests: c.ByRequests,
		Slots: s.MaxConcurrentExecutions, RequestsPerMin: s.BedrockRPM, TokensPerMin: s.BedrockTPM,
		CallSeconds: s.ExpectedPassLatency.Seconds(), Models: s.Models(),
		InputTokens: planInputTokens, OutputTokens: planOutputTokens, Warnings: warnings,
	}
	if !math.IsInf(c.ByTokens, 1) {
		r.ByTokens = &c.ByTokens
	}
	r.Warnings = append(r.Warnings, capacityWarnings(s, c)...)
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return r
}

// capacityWarnings flags slots the model quota cannot keep busy (executions that
// hold a slot only to be throttled) and quota the slots cannot use.
func capacityWarnings(s stacks.Settings, c stacks.Capacity) []string {
	// Slots that keep jobsPerMinute jobs going: each job makes CallsPerJob calls in a row.
	slotsFor := func(jobsPerMinute float64) int {
		return int(math.Ceil(jobsPerMinute * stacks.CallsPerJob * s.ExpectedPassLatency.Minutes()))
	}
	quota := math.Min(c.ByRequests, c.ByTokens)
	switch {
	case c.Binding != stacks.LimitConcurrency && c.ByConcurrency > idleSlotsFactor*c.JobsPerMinute:
		need := slotsFor(c.JobsPerMinute)
		return []string{fmt.Sprintf("maxConcurrentExecutions is %d but the %s quota keeps only %d slots busy: "+
			"the other %d executions hold a slot while the model throttles them; lower it to %d or raise the quota",
			s.MaxConcurrentExecutions, c.Binding, need, s.MaxConcurrentExecutions-need, need)}
	case c.Binding == stacks.LimitConcurrency && quota > unusedQuotaFactor*c.ByConcurrency:
		return []string{fmt.Sprintf("the model quota allows %.1f jobs per minute but %d slots allow %.1f: "+
			"maxConcurrentExecutions %d would use it", quota, s.MaxConcurrentExecutions, c.ByConcurrency, slotsFor(quota))}
	}
	return nil
}

func (r planReport) print(w io.Writer) {
	tpm := "unknown"
	if r.TokensPerMin > 0 {
		tpm = fmt.Sprint(r.TokensPerMin)
	}
	fmt.Fprintf(w, "stack %s: %d slots, %d requests/min, tokens/min %s, %.0fs per model call\n", r.Stack, r.Slots, r.RequestsPerMin, tpm, r.CallSeconds)
	fmt.Fprintf(w, "  models: %v\n  tokens per job (pass1, pass2, pass3): in %v, out %v (assumed)\n", r.Models, r.InputTokens, r.OutputTokens)
	byTokens := "unlimited"
	if r.ByTokens != nil {
		byTokens = fmt.Sprintf("%.1f", *r.ByTokens)
	}
	fmt.Fprintf(w, "jobs per minute:      %.1f, bound by %s (concurrency %.1f, requests %.1f, tokens %s)\n", r.JobsPerMinute, r.Binding, r.ByConcurrency, r.ByRequests, byTokens)
	fmt.Fprintf(w, "%d jobs take:     %.1f hours\n", r.Jobs, r.Hours)
	partial := ""
	if !r.Priced {
		partial = " (partial: a model has no price)"
	}
	fmt.Fprintf(w, "cost per 1,000 jobs:  $%.2f at on-demand prices%s\n", r.CostPer1000Jobs, partial)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
