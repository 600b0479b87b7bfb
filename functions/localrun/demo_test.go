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
	if len(first.Results) != total || !first.Offline || len(first.Timeline) == 0 {
		t.Fatalf("first run: %d results, offline %v, %d samples", len(first.Results), first.Offline, len(first.Timeline))
	}
	for _, r := range first.Results {
		if r.Title == "" || r.WorkModel == "" || r.Seniority == "" || len(r.Skills) == 0 || r.AnswerSource != "offline" {
			t.Errorf("result %+v", r)
		}
	}
	if html, err := os.ReadFile(first.Report); err != nil || !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "http") {
		t.Fatalf("report %s: %v (want inline SVG, no external asset)", first.Report, err)
	}

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

// An interrupted demo keeps every result finished before the interrupt, and the
// rerun is served them instead of asking the model again. Before, Ctrl-C exported
// nothing: the rerun paid every call again.
func TestDemoInterruptedKeepsFinishedResults(t *testing.T) {
	s, err := stacks.LoadFile("../..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	const partitions, perPartition = 2, 3
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := DemoOptions{Settings: s, Partitions: partitions, JobsPerPartition: perPartition, Seed: 12, OutDir: out, Timeout: 5 * time.Minute,
		Tick: func(p Progress) {
			if p.Done >= 2 {
				cancel() // Ctrl-C once two jobs are done
			}
		}}
	_, err = Demo(ctx, o)
	if errors.Is(err, localcloud.ErrMotoMissing) {
		t.Skip("local cloud unavailable: ", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted demo: %v, want context.Canceled", err)
	}
	docs, err := filepath.Glob(filepath.Join(out, "bronze", "ai_enrichment", "*", "pass*-*[a-z0-9].json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 3*2 {
		t.Fatalf("%d pass documents saved after the interrupt, want at least the 6 of the 2 done jobs", len(docs))
	}
	o.Tick = nil
	second, err := Demo(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	total := partitions * perPartition
	if second.Jobs[contract.StatusCompleted] != total || second.Imported < 6 || second.CacheHits < 6 {
		t.Fatalf("rerun: jobs %v, %d imported, %d cache hits, %d model calls", second.Jobs, second.Imported, second.CacheHits, second.ModelCalls)
	}
}

func TestDemoOptionsRejected(t *testing.T) {
	ok := DemoOptions{Partitions: 1, JobsPerPartition: 1, Timeout: time.Minute, OutDir: "x"}
	for name, o := range map[string]DemoOptions{
		"no partitions": {Partitions: 0, JobsPerPartition: 1, Timeout: time.Minute, OutDir: "x"},
		"negative jobs": {Partitions: 1, JobsPerPartition: -1, Timeout: time.Minute, OutDir: "x"},
		"no timeout":    {Partitions: 1, JobsPerPartition: 1, OutDir: "x"},
		"no out dir":    {Partitions: 1, JobsPerPartition: 1, Timeout: time.Minute},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Demo(context.Background(), o); err == nil {
			t.Errorf("%s: demo ran", name)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
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
