package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// DemoOptions configure a demo run.
type DemoOptions struct {
	Settings         stacks.Settings
	Partitions       int
	JobsPerPartition int
	Seed             uint64
	// OutDir receives the Bronze results; results already there are loaded first, so
	// a second demo is served from the cache.
	OutDir string
	// ModelConfig sends Bedrock calls to AWS; nil uses the offline model.
	ModelConfig *aws.Config
	Timeout     time.Duration
	// Tick is called after each look at the pipeline (the progress bar).
	Tick func(Progress)
	Log  *slog.Logger
}

// DemoSummary is what a demo run did.
type DemoSummary struct {
	Totals
	Published  int           `json:"published"`
	ModelCalls int           `json:"model_calls"` // -1 when unknown (real Bedrock)
	Wall       time.Duration `json:"wall_ns"`
	PeakSlots  int           `json:"peak_slots"`
	Model      string        `json:"model"`
	Offline    bool          `json:"offline"` // answers came from the offline model
	BronzeDir  string        `json:"bronze_dir"`
	Report     string        `json:"report"` // the HTML report
	Imported   int           `json:"imported_results"`
	DLQ        int           `json:"dlq_messages"`
	Results    []Result      `json:"results"`
	Timeline   []Sample      `json:"timeline"`
}

// Validate rejects options a demo cannot run with.
func (o DemoOptions) Validate() error {
	if o.Partitions < 1 || o.JobsPerPartition < 1 {
		return fmt.Errorf("partitions %d and jobs per partition %d: want at least 1 each", o.Partitions, o.JobsPerPartition)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("timeout %s: want a positive duration", o.Timeout)
	}
	if o.OutDir == "" {
		return errors.New("an output directory is required")
	}
	return nil
}

// offlineLatency is how long the offline model takes to answer: no time at all (the
// emulator adds latency only when a test or simulation asks for it).
const offlineLatency time.Duration = 0

// exportTimeout bounds the export of Bronze after an interrupt.
const exportTimeout = time.Minute

// Demo starts a local cloud, deploys the stack, writes sample Silver partitions and
// runs discover → SQS → invoke → state machines → passes until every job is done,
// then writes the report. Bronze is saved to OutDir on every way out (done, failed,
// interrupted, timed out), so a rerun is served every result already finished.
func Demo(ctx context.Context, o DemoOptions) (sum DemoSummary, err error) {
	if err := o.Validate(); err != nil {
		return sum, err
	}
	start := time.Now()
	s := o.Settings
	names := contract.NamesFor(s.Stack)
	if s.BronzeBucket == "" {
		s.BronzeBucket = contract.Project + "-" + s.Stack + "-bronze"
	}
	if s.SilverBucket == "" {
		s.SilverBucket = contract.Project + "-" + s.Stack + "-silver"
	}
	deferDelay := 2 * time.Second
	if o.ModelConfig == nil {
		// The offline model answers at once, not in the ~30 s a stack plans a call for:
		// its waits are scaled as the throughput simulation scales them, by the model's
		// latency over the expected one, which puts every wait at its one-second floor.
		factor := float64(offlineLatency) / float64(s.ExpectedPassLatency)
		s, deferDelay = Scale(s, factor), ScaledDeferDelay(factor)
	}
	cloud, err := localcloud.Start(ctx, localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}})
	if err != nil {
		return sum, err
	}
	defer cloud.Close()
	st, err := Deploy(ctx, cloud, names, s, Options{ModelConfig: o.ModelConfig, Log: o.Log, DeferDelay: deferDelay})
	if err != nil {
		return sum, err
	}
	s3c := s3.NewFromConfig(st.Config)
	bronzeDir, err := filepath.Abs(filepath.Join(o.OutDir, "bronze")) // printed for a user who may be elsewhere
	if err != nil {
		return sum, err
	}
	sum.BronzeDir = bronzeDir
	// A run that calls Bedrock loads only Bedrock's answers: the emulator's must not
	// stand in for them.
	if sum.Imported, err = importDir(ctx, s3c, s.BronzeBucket, bronzeDir, o.ModelConfig != nil); err != nil {
		return sum, err
	}
	defer func() {
		xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exportTimeout)
		defer cancel()
		if xerr := exportBucket(xctx, s3c, s.BronzeBucket, contract.BronzePrefix, bronzeDir); xerr != nil {
			err = errors.Join(err, fmt.Errorf("save finished results: %w", xerr))
		}
	}()
	// Partitions of yesterday: complete, so discovery can close them behind its cursor.
	parts := sample.Partitions(time.Now().UTC().Add(-24*time.Hour), o.Partitions)
	if _, err := sample.WritePartitions(ctx, s3c, s.SilverBucket, s.SilverPrefix, parts, o.JobsPerPartition, o.Seed); err != nil {
		return sum, err
	}
	first, err := st.Discover.Handle(ctx, discover.Event{})
	if err != nil {
		return sum, fmt.Errorf("discover: %w", err)
	}
	sum.Published = first.Published
	stop, err := st.Start(ctx, Schedule{Discover: 3 * time.Second, Cleanup: 5 * time.Second, Events: 2 * time.Second}, o.Log)
	if err != nil {
		return sum, err
	}
	defer stop() // before the export above: nothing new is started while it runs
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	p, err := st.Wait(wctx, o.Partitions*o.JobsPerPartition-first.InvalidRows, 500*time.Millisecond, func(p Progress) {
		sum.Timeline = append(sum.Timeline, Sample{Elapsed: p.Elapsed, SlotsInUse: p.SlotsInUse, Done: p.Done})
		if o.Tick != nil {
			o.Tick(p)
		}
	})
	sum.PeakSlots = p.PeakSlots
	if err != nil {
		return sum, err
	}
	stop()
	if sum.DLQ, err = st.DLQDepth(ctx); err != nil {
		return sum, err
	}
	if sum.Totals, err = st.Totals(ctx); err != nil {
		return sum, err
	}
	sum.Model, sum.ModelCalls, sum.Offline = s.ModelPass1+" (offline model)", len(cloud.Bedrock().Calls()), true
	if o.ModelConfig != nil {
		sum.Model, sum.ModelCalls, sum.Offline = s.ModelPass1+" (Amazon Bedrock)", sum.Passes-sum.CacheHits, false
	}
	if sum.Results, err = Results(ctx, bronze.New(s3c, s.BronzeBucket), sum.Completed); err != nil {
		return sum, err
	}
	sum.Wall = time.Since(start)
	sum.Report = filepath.Join(filepath.Dir(bronzeDir), "report.html")
	return sum, writeReport(sum, s.MaxConcurrentExecutions)
}

func writeReport(sum DemoSummary, maxSlots int) error {
	if err := os.MkdirAll(filepath.Dir(sum.Report), 0o755); err != nil {
		return err
	}
	f, err := os.Create(sum.Report)
	if err != nil {
		return err
	}
	if err := WriteReport(f, sum, maxSlots); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", sum.Report, err)
	}
	return f.Close()
}

// importDir uploads every file under dir to bucket, keyed by its path below dir;
// with bedrockOnly, pass documents not answered by Bedrock (and their raw text) stay out.
func importDir(ctx context.Context, c *s3.Client, bucket, dir string, bedrockOnly bool) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if bedrockOnly && !answeredByBedrock(path) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(filepath.ToSlash(rel)), Body: f}); err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		if strings.HasSuffix(rel, ".json") && !strings.HasSuffix(rel, "posting.json") {
			n++
		}
		return nil
	})
	return n, err
}

// answeredByBedrock reports whether the pass document at path (or the one beside a
// raw answer) is Bedrock's answer; a posting snapshot always loads.
func answeredByBedrock(path string) bool {
	if strings.HasSuffix(path, "posting.json") {
		return true
	}
	if stem, ok := strings.CutSuffix(path, "-raw.txt"); ok {
		path = stem + ".json"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var doc bronze.Document
	return json.Unmarshal(raw, &doc) == nil && doc.Metadata.FromBedrock()
}

// exportBucket writes every object under prefix to dir, keyed by path, except the
// discovery cursor.
func exportBucket(ctx context.Context, c *s3.Client, bucket, prefix, dir string) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if strings.HasPrefix(key, contract.DefaultCursorKeyName[:strings.LastIndex(contract.DefaultCursorKeyName, "/")+1]) {
				continue // the cursor belongs to this run's Silver, not to the cache
			}
			if err := exportObject(ctx, c, bucket, key, filepath.Join(dir, filepath.FromSlash(key))); err != nil {
				return err
			}
		}
	}
	return nil
}

func exportObject(ctx context.Context, c *s3.Client, bucket, key, path string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
