package cli

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

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
	// fullQuotaShare is the share of the request quota past which a stack runs at it.
	fullQuotaShare = 0.95
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
	Stack           string  `json:"stack"`
	Jobs            int     `json:"jobs"`
	JobsPerMinute   float64 `json:"jobs_per_minute"`
	Hours           float64 `json:"hours"`
	CostPer1000Jobs float64 `json:"cost_per_1000_jobs_usd"`
	CostUSD         float64 `json:"cost_usd"` // of --jobs jobs
	// ByDiscovery is what discovery publishes per minute (null for a cron schedule);
	// HoursThroughDiscovery is how long the jobs take when discovery publishes them
	// (enrichctl backfill is not capped).
	ByDiscovery           *float64 `json:"by_discovery"`
	HoursThroughDiscovery float64  `json:"hours_through_discovery"`
	Priced                bool     `json:"priced"` // false: a model has no price, the cost is partial
	Binding               string   `json:"binding_limit"`
	ByConcurrency         float64  `json:"by_concurrency"`
	ByRequests            float64  `json:"by_requests"`
	ByTokens              *float64 `json:"by_tokens"` // null when the tokens-per-minute quota is unknown

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
	// The rates say when the last job starts; it ends one job later (its calls in a row).
	fill := stacks.CallsPerJob * s.ExpectedPassLatency.Hours()
	c.Hours += fill
	// JSON carries the figures as printed, without float noise.
	r := planReport{
		Stack: s.Stack, Jobs: jobs, JobsPerMinute: round(c.JobsPerMinute, 2), Hours: round(c.Hours, 4),
		CostPer1000Jobs: round(c.CostPer1000Jobs, 4), CostUSD: round(c.CostPer1000Jobs*float64(jobs)/1000, 4),
		Priced: c.Priced, Binding: c.Binding, ByConcurrency: round(c.ByConcurrency, 2), ByRequests: round(c.ByRequests, 2),
		Slots: s.MaxConcurrentExecutions, RequestsPerMin: s.BedrockRPM, TokensPerMin: s.BedrockTPM,
		CallSeconds: s.ExpectedPassLatency.Seconds(), Models: s.Models(),
		InputTokens: planInputTokens, OutputTokens: planOutputTokens, Warnings: warnings,
		HoursThroughDiscovery: round(c.Hours, 4),
	}
	if !math.IsInf(c.ByTokens, 1) {
		r.ByTokens = ptr(round(c.ByTokens, 2))
	}
	if !math.IsInf(c.ByDiscovery, 1) {
		r.ByDiscovery = ptr(round(c.ByDiscovery, 2))
		if c.ByDiscovery < c.JobsPerMinute {
			r.HoursThroughDiscovery = round(float64(jobs)/c.ByDiscovery/60+fill, 4)
		}
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
	var out []string
	if c.ByDiscovery < c.JobsPerMinute {
		out = append(out, fmt.Sprintf("discovery publishes at most %.1f jobs per minute (maxPartitionsPerRun %d × maxJobsPerPartition %d per %s), below the %.1f the pipeline can run: "+
			"jobs discovery finds wait in Silver; raise one of them, or publish a backlog with `enrichctl backfill`",
			c.ByDiscovery, s.MaxPartitionsPerRun, s.MaxJobsPerPartition, s.DiscoverSchedule, c.JobsPerMinute))
	}
	// Every running job keeps one call in flight: at the quota, any call faster than
	// expectedPassLatency is throttled.
	// (When the quota binds, slotWarnings says how many slots it keeps busy.)
	if c.Binding == stacks.LimitConcurrency && s.BedrockRPM > 0 && s.RequestsPerMinute() >= fullQuotaShare*float64(s.BedrockRPM) {
		out = append(out, fmt.Sprintf("%d slots make %.0f model requests per minute, %.0f %% of the Bedrock quota of %d: calls faster than %s will be throttled; "+
			"keep some headroom (maxConcurrentExecutions %d is 90 %%) or raise the quota",
			s.MaxConcurrentExecutions, s.RequestsPerMinute(), 100*s.RequestsPerMinute()/float64(s.BedrockRPM), s.BedrockRPM, s.ExpectedPassLatency,
			int(math.Floor(0.9*float64(s.BedrockRPM)*s.ExpectedPassLatency.Minutes()))))
	}
	return append(out, slotWarnings(s, c, slotsFor)...)
}

// slotWarnings flags slots the quota leaves idle and quota the slots leave unused.
func slotWarnings(s stacks.Settings, c stacks.Capacity, slotsFor func(float64) int) []string {
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
	fmt.Fprintf(w, "  models: %s\n  tokens per job (pass1, pass2, pass3): in %s, out %s (assumed)\n",
		strings.Join(r.Models, ", "), joinInts(r.InputTokens[:]), joinInts(r.OutputTokens[:]))
	byTokens := "unlimited"
	if r.ByTokens != nil {
		byTokens = fmt.Sprintf("%.1f", *r.ByTokens)
	}
	fmt.Fprintf(w, "jobs per minute:      %.1f, bound by %s (concurrency %.1f, requests %.1f, tokens %s)\n", r.JobsPerMinute, r.Binding, r.ByConcurrency, r.ByRequests, byTokens)
	take := plural(r.Jobs, "job") + " take:"
	if r.Jobs == 1 {
		take = "1 job takes:"
	}
	fmt.Fprintf(w, "%-21s %s", take, duration(r.Hours))
	if r.ByDiscovery != nil && r.HoursThroughDiscovery != r.Hours {
		fmt.Fprintf(w, " once queued; %s through discovery (%.1f jobs/min)", duration(r.HoursThroughDiscovery), *r.ByDiscovery)
	}
	fmt.Fprintln(w)
	partial := ""
	if !r.Priced {
		partial = " (partial: a model has no price)"
	}
	fmt.Fprintf(w, "cost per 1,000 jobs:  $%.2f at on-demand prices%s\n", r.CostPer1000Jobs, partial)
	fmt.Fprintf(w, "%-21s %s at on-demand prices%s\n", "cost of "+plural(r.Jobs, "job")+":", dollars(r.CostUSD), partial)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

// dollars keeps cents for amounts of a dollar or more and four decimals below.
func dollars(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.4f", v)
}

func ptr[T any](v T) *T { return &v }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// duration prints hours in the unit that keeps them readable: 1 job is "12 s", not
// "0.0 hours".
func duration(hours float64) string {
	switch d := time.Duration(hours * float64(time.Hour)); {
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.1f minutes", d.Minutes())
	default:
		return fmt.Sprintf("%.1f hours", hours)
	}
}
