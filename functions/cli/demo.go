package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/schollz/progressbar/v3"
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
			bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetDescription("enriching"), progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond))
			d.Tick = func(p localrun.Progress) {
				_ = bar.Set(p.Done)
				bar.Describe(fmt.Sprintf("enriching (slots %d, in flight %d)", p.SlotsInUse, p.Total-p.Done))
			}
			// The handlers log to the default logger; the progress bar owns the terminal.
			slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
			fmt.Fprintf(cmd.ErrOrStderr(), "starting the local cloud and deploying stack %s (%d jobs in %d partitions)\n", o.Stack, total, partitions)
			sum, err := localrun.Demo(cmd.Context(), d)
			_ = bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
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
	fmt.Fprintf(w, "  jobs:        ")
	for _, k := range statuses {
		fmt.Fprintf(w, "%s %d  ", k, s.Jobs[k])
	}
	fmt.Fprintf(w, "\n  passes:      %d stored, %d served from cache\n", s.Passes, s.CacheHits)
	fmt.Fprintf(w, "  model:       %s, %d calls\n", s.Model, s.ModelCalls)
	fmt.Fprintf(w, "  tokens:      %d in, %d out\n", s.Tokens.Input, s.Tokens.Output)
	fmt.Fprintf(w, "  cost:        $%.4f estimated at on-demand prices\n", s.CostUSD)
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
		fmt.Fprintf(w, "  %s %s after %d attempts: %s\n", j.Overall, j.ID, j.Attempts, reason)
	}
}
