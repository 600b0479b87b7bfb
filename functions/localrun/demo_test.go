package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// TestDemoEndToEnd runs the whole pipeline twice on a small sample, the way `make demo`
// does: the first run enriches every job, the second is served from the cache.
func TestDemoEndToEnd(t *testing.T) {
	s, err := stacks.LoadFile("../..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	const partitions, perPartition = 2, 3
	out := t.TempDir()
	o := DemoOptions{Settings: s, Partitions: partitions, JobsPerPartition: perPartition, Seed: 11, OutDir: out, Timeout: 5 * time.Minute}

	first, err := Demo(context.Background(), o)
	if errors.Is(err, localcloud.ErrMotoMissing) {
		t.Skip("local cloud unavailable: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	total := partitions * perPartition
	if first.Jobs[contract.StatusCompleted] != total || len(first.Jobs) != 1 {
		t.Fatalf("first run: jobs %v, want %d COMPLETED", first.Jobs, total)
	}
	if first.Passes != 3*total || first.CacheHits != 0 || first.ModelCalls != 3*total {
		t.Fatalf("first run: %d passes, %d cache hits, %d model calls", first.Passes, first.CacheHits, first.ModelCalls)
	}
	if first.DLQ != 0 || first.Tokens.Output == 0 || first.CostUSD <= 0 || first.PeakSlots > s.MaxConcurrentExecutions {
		t.Fatalf("first run: %+v", first)
	}
	checkBronze(t, filepath.Join(out, "bronze"), total)

	second, err := Demo(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Jobs[contract.StatusCompleted] != total || second.ModelCalls != 0 || second.CacheHits != 3*total || second.Imported != 3*total {
		t.Fatalf("rerun: jobs %v, %d model calls, %d cache hits, %d imported", second.Jobs, second.ModelCalls, second.CacheHits, second.Imported)
	}
	if second.Tokens.Input != 0 || second.CostUSD != 0 || second.DLQ != 0 {
		t.Fatalf("rerun spent tokens or dead-lettered: %+v", second)
	}
}

// checkBronze reads every exported pass document and checks it parses back as a
// valid result of its pass, with its raw text beside it.
func checkBronze(t *testing.T, dir string, jobs int) {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(dir, "ai_enrichment", "*", "pass*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3*jobs {
		t.Fatalf("%d Bronze documents, want %d", len(docs), 3*jobs)
	}
	for _, path := range docs {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc bronze.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := doc.Metadata
		if parsed := enrich.Parse(m.Pass, string(doc.Result)); !parsed.Usable() || len(parsed.Issues) != 0 {
			t.Fatalf("%s: stored result parses as %s with %v", path, parsed.Status, parsed.Issues)
		}
		if m.PromptVersion != enrich.PromptVersion(m.Pass) || m.Tokens.Output == 0 || !strings.HasPrefix(m.ExecutionID, "job-"+m.JobPostingID) {
			t.Fatalf("%s: metadata %+v", path, m)
		}
		if _, err := os.Stat(strings.TrimSuffix(path, ".json") + "-raw.txt"); err != nil {
			t.Fatalf("raw text missing: %v", err)
		}
	}
}
