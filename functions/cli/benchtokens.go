package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/tokenbench"
)

func newBenchTokensCmd(o *Options) *cobra.Command {
	var jobs int
	var fixtures string
	cmd := &cobra.Command{
		Use:   "bench-tokens [--stack S] [--jobs N] [--fixtures DIR]",
		Short: "Count input and answer tokens per pass and price a job, without calling a model",
		Long: "Builds every pass's request for --jobs bundled sample postings with the stack's models and\n" +
			"reasoning efforts and counts its input tokens (o200k, offline); counts the answer tokens of the\n" +
			"real answers in --fixtures re-encoded into our schema; adds the reasoning assumed per effort and\n" +
			"prints tokens and cost per job at standard and flex prices against the goals (docs/performance.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			if fixtures == "" {
				fixtures = tokenbench.DefaultFixtures()
			}
			r, err := tokenbench.Run(tokenbench.Options{Settings: s, Jobs: jobs, Seed: 1, Fixtures: fixtures})
			if err != nil {
				return err
			}
			if o.JSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
			}
			return printTokenReport(cmd, o.Stack, r)
		},
	}
	cmd.Flags().IntVar(&jobs, "jobs", 100, "sample postings to build requests for")
	cmd.Flags().StringVar(&fixtures, "fixtures", "", "directory of real answers with labels.tsv (default: ../shared's collection, else enrich/testdata)")
	return cmd
}

func printTokenReport(cmd *cobra.Command, stack string, r tokenbench.Report) error {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "stack %s: %d sample postings; answers from %s; o200k tokens per job\n\n", stack, r.Jobs, r.Fixtures)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "pass\tmodel\teffort\tinput mean\tinput max\tschema\tanswers\tanswer mean\tanswer max\treasoning assumed\tmaxTokens\tretry\tcost USD\t")
	for _, p := range r.Passes {
		effort := p.ReasoningEffort
		if effort == "" {
			effort = "none"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t%.0f\t%d\t%d\t%d\t%d\t%.5f\t\n", p.Pass, p.Model, effort,
			p.InputMean, p.InputMax, p.SchemaTokens, p.Answers, p.AnswerMean, p.AnswerMax, p.ReasoningAssume, p.MaxTokens, p.RetryMaxTokens, p.CostUSD)
	}
	fmt.Fprintf(w, "job\t\t\t%.0f\t\t%d\t\t%.0f\t\t%d\t\t\t%.5f\t\n", r.InputTokens, r.SchemaTokens, r.AnswerTokens, r.ReasoningTokens, r.CostUSD)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nReasoning assumed: a third of the reserve per effort (enrich.ExpectedReasoningTokens; medium = gpt-oss's default, measured ~2k per pass).\n")
	fmt.Fprintf(out, "Flex: %.0f %% below standard (assumed, tokenbench.FlexDiscount). If Bedrock billed the schema as input: $%.5f per job.\n\n", tokenbench.FlexDiscount*100, r.SchemaBilledCostUSD)
	for _, g := range r.Goals() {
		verdict := "met"
		if !g.Met() {
			verdict = "NOT met"
		}
		fmt.Fprintf(out, "%-45s %10.5g  goal ≤ %-8.5g %s\n", g.Name, g.Value, g.Limit, verdict)
	}
	return nil
}
