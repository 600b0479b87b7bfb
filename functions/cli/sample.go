package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/sample"
)

func newSampleCmd(o *Options) *cobra.Command {
	var (
		partitions, perPartition int
		seed                     uint64
		end                      string
	)
	cmd := &cobra.Command{
		Use:   "sample --local",
		Short: "Write generated Silver partitions into a running local cloud (enrichctl local up)",
		Long: "Writes --partitions hourly Silver partitions of --jobs generated postings each (the demo's\n" +
			"generator: Spark-like parquet) into the Silver bucket of --stack in the local cloud, ending\n" +
			"with the hour --end (default: the last hour discovery considers complete). It only ever\n" +
			"writes to the local cloud, so --local is required. DiscoverPartitions of `local up` finds them\n" +
			"on its next run; `enrichctl --local backfill --from … --to …` enriches them at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if partitions < 1 || perPartition < 1 {
				return usageErr("sample: --partitions %d and --jobs %d: want at least 1 each", partitions, perPartition)
			}
			last := time.Now().UTC().Add(-discover.DefaultSettle - time.Hour)
			if end != "" {
				t, err := time.Parse("2006-01-02T15", end)
				if err != nil {
					return usageErr("sample: --end %q: want an hour like 2025-06-01T10", end)
				}
				last = t
			}
			s, err := o.settings()
			if err != nil {
				return err
			}
			if !o.Local { // generated postings never go to a real Silver bucket
				return usageErr("sample writes only to the local cloud: add --local (and start it with enrichctl local up)")
			}
			cfg, err := o.awsConfig(cmd.Context())
			if err != nil {
				return err
			}
			parts := sample.Partitions(last, partitions)
			keys, err := sample.WritePartitions(cmd.Context(), s3.NewFromConfig(cfg), s.SilverBucket, s.SilverPrefix, parts, perPartition, seed)
			if err != nil {
				return fmt.Errorf("write sample Silver: %w", err) // Run adds how to start the local cloud
			}
			from, to := parts[0].String(), parts[len(parts)-1].String()
			if o.JSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
					"bucket": s.SilverBucket, "keys": keys, "jobs": partitions * perPartition, "from": from, "to": to,
				})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d postings in %d partitions (%s … %s) to s3://%s/%s\n"+
				"  discovery of `local up` picks them up within a minute; to enrich them now:\n"+
				"  enrichctl --local --stack %s backfill --from %s --to %s\n",
				partitions*perPartition, partitions, from, to, s.SilverBucket, s.SilverPrefix, o.Stack, from, to)
			return nil
		},
	}
	cmd.Flags().IntVar(&partitions, "partitions", 2, "hourly partitions to write")
	cmd.Flags().IntVar(&perPartition, "jobs", 5, "postings per partition")
	cmd.Flags().Uint64Var(&seed, "seed", uint64(time.Now().Unix()), "seed of the posting generator (default: the time, so every run writes new postings)")
	cmd.Flags().StringVar(&end, "end", "", "last partition hour, UTC (2006-01-02T15)")
	return cmd
}
