package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func runSilverCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIWith(t, "", append([]string{"silver", "read"}, args...)...)
}

func TestSilverRead(t *testing.T) {
	at := time.Date(2025, 6, 1, 10, 30, 0, 0, time.UTC)
	rows := append(sample.NewGenerator(1).Rows(silver.PartitionOf(at), 3), sample.Tricky(at)...)
	path := filepath.Join(t.TempDir(), "part-00000.snappy.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sample.Write(f, rows, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, stdout, stderr := runSilverCmd(t, path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	n := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"job_posting_id", "job_title", "company_name", "job_location", "scraped_at", "description_chars"} {
			if _, ok := line[k]; !ok {
				t.Errorf("line %d lacks %s", n, k)
			}
		}
		if _, ok := line["job_description_text"]; ok {
			t.Errorf("line %d prints the description without --description", n)
		}
		if ts, _ := line["scraped_at"].(string); !strings.HasPrefix(ts, "2025-06-01T10:") || !strings.HasSuffix(ts, "Z") {
			t.Errorf("scraped_at %q", ts)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d jobs printed, want 3", n)
	}
	if !strings.Contains(stderr, `"../x"`) || !strings.Contains(stderr, "6 rows: 3 jobs, 3 invalid") {
		t.Errorf("stderr %q", stderr)
	}

	if code, _, _ := runSilverCmd(t, filepath.Join(t.TempDir(), "missing.parquet")); code != ExitNotFound {
		t.Errorf("missing file: exit %d, want %d", code, ExitNotFound)
	}
	if code, _, _ := runSilverCmd(t, "s3://bucket-only"); code != ExitUsage {
		t.Errorf("bad s3 url: exit %d, want %d", code, ExitUsage)
	}
}
