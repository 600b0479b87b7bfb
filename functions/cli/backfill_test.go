package cli

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func TestBackfillUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"reversed range", []string{"--from", "year=2025/month=01/day=02/hour=00", "--to", "year=2025/month=01/day=01/hour=23"}},
		{"malformed from", []string{"--from", "2025-01-01T00", "--to", "year=2025/month=01/day=01/hour=23"}},
		{"unpadded to", []string{"--from", "year=2025/month=01/day=01/hour=00", "--to", "year=2025/month=1/day=01/hour=23"}},
		{"missing to", []string{"--from", "year=2025/month=01/day=01/hour=00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := runCLI(t, append([]string{"backfill", "--local"}, tt.args...)...); code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, ExitUsage, out)
			}
		})
	}
}

func TestBackfill(t *testing.T) {
	st := localStack(t)
	t.Cleanup(func() { purgeQueue(t, st) })
	// Three partitions of 5 jobs; batches of 2 make three calls per partition.
	parts := writeSilver(t, st, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 3, 5, 11)
	from, to := parts[0].String(), parts[2].String()
	var r backfillReport
	runJSON(t, ExitOK, &r, "backfill", "--from", from, "--to", to, "--batch", "2")
	if len(r.Partitions) != 3 || r.Published != 15 || r.Rows != 15 || r.Calls != 9 || r.ResumedAfter != "" {
		t.Fatalf("first run: %+v", r)
	}
	for _, p := range parts {
		if n := len(jobsOf(t, st, contract.StatusQueued, p)); n != 5 {
			t.Fatalf("partition %s: %d jobs QUEUED, want 5", p, n)
		}
	}

	// The same range again is finished; restarted, it publishes no job twice.
	runJSON(t, ExitRefused, nil, "backfill", "--from", from, "--to", to)
	runJSON(t, ExitOK, &r, "backfill", "--from", from, "--to", to, "--restart")
	if r.Published != 0 || r.SkippedBusy != 15 {
		t.Fatalf("restart: %+v", r)
	}

	// Interrupted after the first partition: the next run starts after it.
	parts = writeSilver(t, st, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), 3, 4, 12)
	b := backfillRange{first: parts[0], last: parts[2]}
	putCheckpoint(t, st.Config, st.Settings.BronzeBucket, b.checkpointKey(), parts[0])
	runJSON(t, ExitOK, &r, "backfill", "--from", parts[0].String(), "--to", parts[2].String())
	if r.ResumedAfter != parts[0].String() || len(r.Partitions) != 2 || r.Partitions[0] != parts[1].String() || r.Published != 8 {
		t.Fatalf("resumed run: %+v", r)
	}
	if n := len(jobsOf(t, st, contract.StatusQueued, parts[0])); n != 0 {
		t.Fatalf("the checkpointed partition was published again: %d jobs", n)
	}

	// A range without Silver partitions has nothing to do.
	runJSON(t, ExitRefused, nil, "backfill", "--from", "year=2024/month=01/day=01/hour=00", "--to", "year=2024/month=01/day=01/hour=05")
}

// TestBackfillReportsUnreadableFiles: a truncated parquet and a text file in the middle
// partition are reported (text and JSON), exit 1, and the checkpoint stays before them;
// the readable partitions are published all the same.
func TestBackfillReportsUnreadableFiles(t *testing.T) {
	st := localStack(t)
	t.Cleanup(func() { purgeQueue(t, st) })
	parts := writeSilver(t, st, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), 3, 2, 21)
	client := s3.NewFromConfig(st.Config)
	good, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(st.Settings.SilverBucket), Key: aws.String(sample.FileKey(st.Settings.SilverPrefix, parts[1], 0))})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(good.Body)
	good.Body.Close()
	bad := map[string][]byte{
		sample.FileKey(st.Settings.SilverPrefix, parts[1], 1): body[:len(body)/2],
		sample.FileKey(st.Settings.SilverPrefix, parts[1], 2): []byte("this is not parquet\n"),
	}
	for key, b := range bad {
		if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(st.Settings.SilverBucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := parts[0].String(), parts[2].String()
	var r backfillReport
	runJSON(t, ExitFailure, &r, "backfill", "--from", from, "--to", to)
	if len(r.UnreadableFiles) != 2 || r.CheckpointAt != from || r.Published != 6 || len(r.Partitions) != 3 {
		t.Fatalf("report: %+v", r)
	}
	for key := range bad {
		if !slices.Contains(r.UnreadableFiles, key) {
			t.Errorf("%s not reported in %v", key, r.UnreadableFiles)
		}
	}
	code, out := runCLI(t, "backfill", "--from", from, "--to", to, "--local")
	if code != ExitFailure || strings.Count(out, "unreadable, not published:") != 2 || !strings.Contains(out, "at "+from) {
		t.Fatalf("text: exit %d\n%s", code, out)
	}
}

func putCheckpoint(t *testing.T, cfg aws.Config, bucket, key string, done silver.Partition) {
	t.Helper()
	body := []byte(`{"done_through":"` + done.String() + `"}`)
	if _, err := s3.NewFromConfig(cfg).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// purgeQueue drops the messages a test published and will not run.
func purgeQueue(t *testing.T, st *localrun.Stack) {
	t.Helper()
	if _, err := sqs.NewFromConfig(st.Config).PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(st.Resources.QueueURL)}); err != nil {
		t.Fatal(err)
	}
}
