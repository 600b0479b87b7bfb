package cli

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

// `enrichctl sample` writes generated Silver into the running local cloud, where
// discovery and backfill read it like Spark's files.
func TestSampleWritesSilver(t *testing.T) {
	st := localStack(t)
	var out struct {
		Bucket string   `json:"bucket"`
		Keys   []string `json:"keys"`
		Jobs   int      `json:"jobs"`
		From   string   `json:"from"`
		To     string   `json:"to"`
	}
	runJSON(t, ExitOK, &out, "sample", "--partitions", "2", "--jobs", "3", "--seed", "5", "--end", "2025-03-01T10")
	if out.Bucket != st.Settings.SilverBucket || len(out.Keys) != 2 || out.Jobs != 6 ||
		out.From != "year=2025/month=03/day=01/hour=09" || out.To != "year=2025/month=03/day=01/hour=10" {
		t.Fatalf("sample output %+v", out)
	}
	bucket := silver.NewBucket(s3.NewFromConfig(st.Config), st.Settings.SilverBucket)
	rows := 0
	for _, key := range out.Keys {
		if _, err := bucket.ReadObject(context.Background(), key, func(contract.Posting) error { rows++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if rows != 6 {
		t.Fatalf("%d postings in Silver, want 6", rows)
	}
}

// Bad counts and flags are usage errors before anything starts: `demo --jobs -1` used
// to panic and `--partitions 0` to "finish" with a path that did not exist.
func TestBadDemoSampleAndLocalFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--jobs", "-1"},
		{"demo", "--partitions", "0"},
		{"demo", "--timeout", "0s"},
		{"sample", "--local", "--jobs", "0"},
		{"sample", "--local", "--end", "yesterday"},
		{"sample"}, // never to a real Silver bucket
		{"local", "up", "--replay", "/nonexistent"},
	} {
		if code, out := runCLI(t, args...); code != ExitUsage {
			t.Errorf("enrichctl %v: exit %d, want %d\n%s", args, code, ExitUsage, out)
		}
	}
}
