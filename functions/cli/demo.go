package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/localrun"
)

func newDemoCmd(o *Options) *cobra.Command {
	var (
		partitions, perPartition int
		seed                     uint64
		outDir, bedrock          string
		timeout                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline locally on generated sample postings",
		Long: "Starts the local cloud (moto, the gateway, the Bedrock emulator), deploys --stack into it,\n" +
			"writes sample Silver partitions and runs discover → SQS → invoke → state machines → three\n" +
			"passes until every job is done, then prints a summary and saves Bronze under --out.\n" +
			"Results already under --out are loaded first, so a second run is served from the cache.\n" +
			"--bedrock aws sends the model calls to Amazon Bedrock with the default AWS credentials.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			d := localrun.DemoOptions{
				Settings: s, Partitions: partitions, JobsPerPartition: perPartition, Seed: seed,
				OutDir: outDir, Timeout: timeout,
			}
			if err := d.Validate(); err != nil {
				return usageErr("demo: %v (--partitions, --jobs, --timeout, --out)", err)
			}
			switch bedrock {
			case "", "offline":
			case "aws":
				cfg, err := config.LoadDefaultConfig(cmd.Context())
				if err != nil {
					return fmt.Errorf("AWS credentials for Bedrock: %w", err)
				}
				d.ModelConfig = &cfg
			default:
				return usageErr("--bedrock %q: want offline or aws", bedrock)
			}
			total := partitions * perPartition
			bar := newBar(cmd.ErrOrStderr(), total, "enriching")
			d.Tick = func(p localrun.Progress) {
				bar.set(p.Done, fmt.Sprintf("enriching (slots %d, in flight %d)", p.SlotsInUse, p.Total-p.Done))
			}
			// The handlers log to the default logger; the progress bar owns the terminal.
			slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
			fmt.Fprintf(cmd.ErrOrStderr(), "starting the local cloud and deploying stack %s (%d jobs in %d partitions)\n", o.Stack, total, partitions)
			sum, err := localrun.Demo(cmd.Context(), d)
			if err != nil {
				bar.stop() // the bar shows how far it got, not 100 %
				if sum.BronzeDir != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "finished results are saved in %s; a rerun is served them from the cache\n", sum.BronzeDir)
				}
				return err
			}
			bar.done()
			if o.JSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(sum)
			}
			printDemoSummary(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	cmd.Flags().IntVar(&partitions, "partitions", 4, "hourly Silver partitions to generate")
	cmd.Flags().IntVar(&perPartition, "jobs", 6, "postings per partition")
	cmd.Flags().Uint64Var(&seed, "seed", 7, "seed of the posting generator")
	cmd.Flags().StringVar(&outDir, "out", "demo-output", "directory for the Bronze results (and the cache of the next run)")
	cmd.Flags().StringVar(&bedrock, "bedrock", "offline", "offline (the emulator's offline model) or aws (real Bedrock)")
	_ = cmd.RegisterFlagCompletionFunc("bedrock", cobra.FixedCompletions([]string{"offline", "aws"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "give up after this long")
	return cmd
}

func printDemoSummary(w io.Writer, s localrun.DemoSummary) {
	statuses := make([]string, 0, len(s.Jobs))
	for k := range s.Jobs {
		statuses = append(statuses, k)
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "demo finished in %s\n", s.Wall.Round(100*time.Millisecond))
	counts := make([]string, len(statuses))
	for i, k := range statuses {
		counts[i] = fmt.Sprintf("%s %d", k, s.Jobs[k])
	}
	fmt.Fprintf(w, "  jobs:        %s", strings.Join(counts, ", "))
	fmt.Fprintf(w, "\n  passes:      %d stored, %d served from cache\n", s.Passes, s.CacheHits)
	fmt.Fprintf(w, "  model:       %s, %d calls\n", s.Model, s.ModelCalls)
	fmt.Fprintf(w, "  tokens:      %d in, %d out\n", s.Tokens.Input, s.Tokens.Output)
	if s.Offline {
		fmt.Fprintf(w, "  cost:        $%.4f at on-demand prices, had Bedrock answered (the offline model costs nothing)\n", s.CostUSD)
	} else {
		fmt.Fprintf(w, "  cost:        $%.4f estimated at on-demand prices\n", s.CostUSD)
	}
	fmt.Fprintf(w, "  peak slots:  %d in use at once\n", s.PeakSlots)
	fmt.Fprintf(w, "  dead letters: %d\n", s.DLQ)
	if s.Imported > 0 {
		fmt.Fprintf(w, "  cache:       %d earlier results loaded from %s\n", s.Imported, s.BronzeDir)
	}
	fmt.Fprintf(w, "  bronze:      %s/ai_enrichment/{job}/{pass}-{model}.json and -raw.txt\n", s.BronzeDir)
	for _, j := range s.FailedJobs {
		reason := ""
		if j.LastError != nil {
			reason = j.LastError.Error + ": " + j.LastError.Cause
		}
		attempts := "attempts"
		if j.Attempts == 1 {
			attempts = "attempt"
		}
		fmt.Fprintf(w, "  %s %s after %d %s: %s\n", j.Overall, j.ID, j.Attempts, attempts, reason)
	}
	fmt.Fprintf(w, "  report:      %s (charts of slots in use and jobs done, every result)\n", s.Report)
	printResults(w, s)
}

// resultsShown bounds the table; the report holds every result.
const resultsShown = 12

// printResults prints what enrichment found for the first jobs.
func printResults(w io.Writer, s localrun.DemoSummary) {
	if len(s.Results) == 0 {
		return
	}
	source := "Amazon Bedrock"
	if s.Offline {
		source = "the offline model (keyword rules of the local cloud, not a model)"
	}
	fmt.Fprintf(w, "\nresults (answered by %s):\n", source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TITLE\tSALARY FOUND\tWORK MODEL\tSENIORITY\tTOP SKILLS")
	for _, r := range s.Results[:min(len(s.Results), resultsShown)] {
		salary := r.Salary
		if salary == "" {
			salary = "none stated"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", clipText(r.Title, 40), salary, r.WorkModel, r.Seniority, strings.Join(r.Skills, ", "))
	}
	_ = tw.Flush()
	if n := len(s.Results) - resultsShown; n > 0 {
		fmt.Fprintf(w, "  … and %d more in the report\n", n)
	}
	fmt.Fprintln(w, "\nEvery field of the three passes is explained in docs/passes.md.")
}

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
