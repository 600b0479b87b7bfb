package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func newSilverCmd(o *Options) *cobra.Command {
	var description bool
	read := &cobra.Command{
		Use:   "read FILE|s3://bucket/key",
		Short: "Print one JSON object per job of a Silver parquet file; invalid rows go to stderr",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.silverRead(cmd, args[0], description)
		},
	}
	read.Flags().BoolVar(&description, "description", false, "include job_description_text")
	return group("silver", "Inspect Silver parquet files", read)
}

// postingLine is a posting as printed: the description text is left out unless asked
// for (this field shadows the embedded one in JSON).
type postingLine struct {
	contract.Posting
	DescriptionText string `json:"job_description_text,omitempty"`
}

func (o *Options) silverRead(cmd *cobra.Command, src string, description bool) error {
	out := json.NewEncoder(cmd.OutOrStdout())
	emit := func(p contract.Posting) error {
		line := postingLine{Posting: p}
		if description {
			line.DescriptionText = p.DescriptionText
		}
		return out.Encode(line)
	}
	stats, err := o.readSilver(cmd, src, emit)
	if err != nil {
		return err
	}
	errOut := json.NewEncoder(cmd.ErrOrStderr())
	for _, r := range stats.Rejected {
		if err := errOut.Encode(r); err != nil {
			return err
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d rows: %d jobs, %d invalid", stats.Rows, stats.Valid, stats.Invalid)
	if stats.Invalid > len(stats.Rejected) {
		fmt.Fprintf(cmd.ErrOrStderr(), " (first %d listed)", len(stats.Rejected))
	}
	fmt.Fprintln(cmd.ErrOrStderr())
	return nil
}

func (o *Options) readSilver(cmd *cobra.Command, src string, fn func(contract.Posting) error) (silver.Stats, error) {
	if rest, ok := strings.CutPrefix(src, "s3://"); ok {
		bucket, key, ok := strings.Cut(rest, "/")
		if !ok || bucket == "" || key == "" {
			return silver.Stats{}, usageErr("%q: want s3://bucket/key", src)
		}
		cfg, err := o.awsConfig(cmd.Context())
		if err != nil {
			return silver.Stats{}, err
		}
		stats, err := silver.NewBucket(s3.NewFromConfig(cfg), bucket).ReadObject(cmd.Context(), key, fn)
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return stats, notFoundErr("%s: no such object", src)
		}
		return stats, err
	}
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return silver.Stats{}, notFoundErr("%s: no such file", src)
	}
	if err != nil {
		return silver.Stats{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return silver.Stats{}, fmt.Errorf("stat %s: %w", src, err)
	}
	return silver.Read(f, info.Size(), src, fn)
}
