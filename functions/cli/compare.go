package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/tokenbench"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// compareConfig is one side of a comparison: a model and an effort per pass, a tier.
type compareConfig struct {
	Label   string   `json:"label"`
	Spec    string   `json:"spec"`
	Models  []string `json:"models"`  // per pass
	Efforts []string `json:"efforts"` // per pass, "" for none
	Tier    string   `json:"tier"`
}

// parseCompareConfig reads KEY=VALUE,... over the stack's settings. Keys: model,
// effort, tier, and passN.model / passN.effort for one pass. An effort left unset is
// the stack's when the model takes one, none otherwise; effort=none sends none.
func parseCompareConfig(label, spec string, s stacks.Settings) (compareConfig, error) {
	c := compareConfig{Label: label, Spec: spec, Models: slices.Clone(s.Models()), Tier: s.ServiceTier}
	asked := make([]string, len(contract.Passes))
	for _, kv := range strings.Split(spec, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || value == "" {
			return c, usageErr("--%s %q: want KEY=VALUE,... (keys: model, effort, tier, passN.model, passN.effort)", label, kv)
		}
		passes := contract.Passes
		if p, field, scoped := strings.Cut(key, "."); scoped {
			pass, err := contract.ParsePass(p)
			if err != nil {
				return c, usageErr("--%s %s: %v", label, key, err)
			}
			passes, key = []contract.Pass{pass}, field
		}
		for _, pass := range passes {
			i := slices.Index(contract.Passes, pass)
			switch key {
			case "model":
				c.Models[i] = value
			case "effort":
				asked[i] = value
			case "tier":
				if len(passes) == 1 {
					return c, usageErr("--%s: tier applies to every pass", label)
				}
				c.Tier = value
			default:
				return c, usageErr("--%s: unknown key %q (keys: model, effort, tier, passN.model, passN.effort)", label, key)
			}
		}
	}
	for i, m := range c.Models {
		e, err := passEffort(m, asked[i], s.ReasoningEfforts()[i])
		if err != nil {
			return c, usageErr("--%s %s: %v", label, contract.Passes[i], err)
		}
		c.Efforts = append(c.Efforts, e)
	}
	return c, nil
}

// passRun is one pass of one posting under one configuration.
type passRun struct {
	Status  string // a parse status, "error" (the call failed) or "skipped" (an earlier pass failed)
	Result  json.RawMessage
	Tokens  contract.Tokens
	CostUSD float64
	Latency time.Duration
	Error   string
}

// runCompareConfig runs the three passes of every posting, each pass on the results of
// the configuration's own earlier passes, exactly as EnrichPartition asks.
func runCompareConfig(ctx context.Context, client *llm.Client, c compareConfig, postings []contract.Posting) [][]passRun {
	out := make([][]passRun, len(postings))
	for j, p := range postings {
		prev := map[contract.Pass]json.RawMessage{}
		for i, pass := range contract.Passes {
			run := passRun{Status: "skipped"}
			req, err := enrich.BuildRequest(pass, p, prev, enrichpartition.TargetFor(c.Models[i], c.Efforts[i]))
			if err == nil {
				o, askErr := enrichpartition.Ask(ctx, client, c.Models[i], c.Tier, req)
				run = passRun{Status: o.Parsed.Status, Result: o.Parsed.Result, Tokens: o.Tokens, Latency: o.Latency}
				run.CostUSD, _ = llm.Cost(c.Models[i], o.Tokens)
				if askErr != nil {
					run.Error = askErr.Error()
					if o.Calls == 0 || run.Status == "" {
						run.Status = "error"
					}
				}
				if o.Parsed.Usable() && askErr == nil {
					prev[pass] = o.Parsed.Result
				}
			}
			out[j] = append(out[j], run)
		}
	}
	return out
}

// sideReport sums one configuration's runs of one pass.
type sideReport struct {
	Model        string         `json:"model"`
	Effort       string         `json:"effort"`
	Statuses     map[string]int `json:"statuses"`
	CostUSD      float64        `json:"cost_usd"`
	CostPerJob   float64        `json:"cost_usd_per_job"`
	InputPerJob  float64        `json:"input_tokens_per_job"`
	OutputPerJob float64        `json:"output_tokens_per_job"`
	LatencyMean  time.Duration  `json:"latency_mean_ns"`
	LatencyMax   time.Duration  `json:"latency_max_ns"`
}

// agreementReport aggregates Agree over the postings both sides answered.
type agreementReport struct {
	Jobs   int                `json:"jobs"`  // postings both sides answered usably
	Score  float64            `json:"score"` // mean over every compared field
	ByKind map[string]float64 `json:"by_kind"`
	Worst  []fieldScore       `json:"worst_fields"`
}

type fieldScore struct {
	Field string  `json:"field"`
	Score float64 `json:"score"`
}

type passComparison struct {
	Pass      contract.Pass   `json:"pass"`
	A, B      sideReport      `json:"-"`
	Sides     []sideReport    `json:"sides"`
	Agreement agreementReport `json:"agreement"`
}

type comparison struct {
	Jobs    int              `json:"jobs"`
	Configs []compareConfig  `json:"configs"`
	Passes  []passComparison `json:"passes"`
}

func side(c compareConfig, i int, runs [][]passRun) sideReport {
	r := sideReport{Model: c.Models[i], Effort: c.Efforts[i], Statuses: map[string]int{}}
	for _, job := range runs {
		run := job[i]
		r.Statuses[run.Status]++
		r.CostUSD += run.CostUSD
		r.InputPerJob += float64(run.Tokens.Input)
		r.OutputPerJob += float64(run.Tokens.Output)
		r.LatencyMean += run.Latency
		r.LatencyMax = max(r.LatencyMax, run.Latency)
	}
	if n := len(runs); n > 0 {
		r.CostPerJob, r.InputPerJob, r.OutputPerJob = r.CostUSD/float64(n), r.InputPerJob/float64(n), r.OutputPerJob/float64(n)
		r.LatencyMean /= time.Duration(n)
	}
	return r
}

func agreement(pass contract.Pass, i int, a, b [][]passRun) (agreementReport, error) {
	r := agreementReport{ByKind: map[string]float64{}}
	perField, perKind := map[string][]float64{}, map[string][]float64{}
	var all []float64
	for j := range a {
		ra, rb := a[j][i], b[j][i]
		if !usable(ra) || !usable(rb) {
			continue
		}
		fields, err := enrich.Agree(pass, ra.Result, rb.Result)
		if err != nil {
			return r, err
		}
		r.Jobs++
		for _, f := range fields {
			perField[f.Field] = append(perField[f.Field], f.Score)
			perKind[f.Kind] = append(perKind[f.Kind], f.Score)
			all = append(all, f.Score)
		}
	}
	r.Score = mean(all)
	for k, v := range perKind {
		r.ByKind[k] = mean(v)
	}
	for f, v := range perField {
		if m := mean(v); m < 1 {
			r.Worst = append(r.Worst, fieldScore{f, m})
		}
	}
	sort.Slice(r.Worst, func(x, y int) bool {
		if r.Worst[x].Score != r.Worst[y].Score {
			return r.Worst[x].Score < r.Worst[y].Score
		}
		return r.Worst[x].Field < r.Worst[y].Field
	})
	r.Worst = r.Worst[:min(5, len(r.Worst))]
	return r, nil
}

func usable(r passRun) bool {
	return (r.Status == enrich.StatusOK || r.Status == enrich.StatusRepaired) && r.Error == ""
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func newCompareCmd(o *Options) *cobra.Command {
	var jobs int
	var a, b string
	cmd := &cobra.Command{
		Use:   "compare --jobs N --a KEY=VALUE,... --b KEY=VALUE,...",
		Short: "Run two model configurations on the same postings and compare cost, latency, parsing and answers",
		Long: "Runs the three passes of --jobs bundled sample postings under configuration A and under B (each\n" +
			"pass on its own configuration's earlier results, as EnrichPartition would) against Bedrock, or\n" +
			"the local emulator with --local, and reports per pass: cost, tokens and latency per job, parse\n" +
			"statuses, and how far B's answers agree with A's field by field (enums and booleans equal,\n" +
			"numbers within 10 %, lists by overlap; free text is not compared).\n" +
			"Keys over the stack's settings: model, effort (low|medium|high|none), tier, passN.model,\n" +
			"passN.effort. Example: --a effort=medium --b effort=low,pass3.effort=medium",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jobs < 1 {
				return usageErr("--jobs %d: want at least 1", jobs)
			}
			s, err := o.settings()
			if err != nil {
				return err
			}
			ca, err := parseCompareConfig("a", a, s)
			if err != nil {
				return err
			}
			cb, err := parseCompareConfig("b", b, s)
			if err != nil {
				return err
			}
			postings, err := tokenbench.Postings(jobs, 1)
			if err != nil {
				return err
			}
			cfg, endpoint, stop, err := o.runPassConfig(cmd.Context())
			if err != nil {
				return err
			}
			defer stop()
			// One client per side: a breaker opened by A's model must not refuse B's calls.
			runsA := runCompareConfig(cmd.Context(), llm.New(llm.NewRuntime(cfg, llm.RuntimeOptions{}), llm.Options{}), ca, postings)
			runsB := runCompareConfig(cmd.Context(), llm.New(llm.NewRuntime(cfg, llm.RuntimeOptions{}), llm.Options{}), cb, postings)
			c := comparison{Jobs: len(postings), Configs: []compareConfig{ca, cb}}
			for i, pass := range contract.Passes {
				ag, err := agreement(pass, i, runsA, runsB)
				if err != nil {
					return err
				}
				pc := passComparison{Pass: pass, A: side(ca, i, runsA), B: side(cb, i, runsB), Agreement: ag}
				pc.Sides = []sideReport{pc.A, pc.B}
				c.Passes = append(c.Passes, pc)
			}
			if o.JSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(c)
			}
			return printComparison(cmd.OutOrStdout(), endpoint, c)
		},
	}
	cmd.Flags().IntVar(&jobs, "jobs", 5, "bundled sample postings to run")
	cmd.Flags().StringVar(&a, "a", "", "configuration A as KEY=VALUE,... over the stack's settings (empty: the stack as is)")
	cmd.Flags().StringVar(&b, "b", "", "configuration B as KEY=VALUE,...")
	return cmd
}

func printComparison(out io.Writer, endpoint string, c comparison) error {
	fmt.Fprintf(out, "%d sample postings against %s\n", c.Jobs, endpoint)
	for _, cfg := range c.Configs {
		fmt.Fprintf(out, "%s = %q: models %v, efforts %v, tier %q\n", strings.ToUpper(cfg.Label), cfg.Spec, cfg.Models, effortNames(cfg.Efforts), cfg.Tier)
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "pass\tside\tmodel\teffort\tcost/job USD\tin/job\tout/job\tlatency mean\tlatency max\tstatuses\tagreement (jobs)\tenum\tnumber\tlist\tbool")
	for _, p := range c.Passes {
		for k, s := range p.Sides {
			agree := ""
			if k == 1 {
				ag := p.Agreement
				agree = fmt.Sprintf("%.2f (%d)", ag.Score, ag.Jobs)
				for _, kind := range []string{enrich.KindEnum, enrich.KindNumber, enrich.KindList, enrich.KindBool} {
					if v, ok := ag.ByKind[kind]; ok {
						agree += fmt.Sprintf("\t%.2f", v)
					} else {
						agree += "\t-" // the pass has no field of this kind
					}
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.5f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\n", p.Pass, strings.ToUpper(c.Configs[k].Label), s.Model, effortNames([]string{s.Effort})[0],
				s.CostPerJob, s.InputPerJob, s.OutputPerJob, s.LatencyMean.Round(time.Millisecond), s.LatencyMax.Round(time.Millisecond), statusText(s.Statuses), agree)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, p := range c.Passes {
		if len(p.Agreement.Worst) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s fields agreeing least:", p.Pass)
		for _, f := range p.Agreement.Worst {
			fmt.Fprintf(out, " %s %.2f;", f.Field, f.Score)
		}
	}
	_, err := fmt.Fprintln(out)
	return err
}

func effortNames(efforts []string) []string {
	out := slices.Clone(efforts)
	for i, e := range out {
		if e == "" {
			out[i] = "none"
		}
	}
	return out
}

func statusText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
