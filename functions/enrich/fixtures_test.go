package enrich

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// sharedFixtures is the project's collection of real model answers, present on the
// development machines; testdata/ holds a copy of a few so the suite runs anywhere.
const sharedFixtures = "../../../shared/fixtures/model-responses"

type fixture struct {
	path     string
	pass     contract.Pass
	expected string // ok, truncated, no_json or invalid_json
}

// loadFixtures reads labels.tsv under dir.
func loadFixtures(t testing.TB, dir string) []fixture {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatalf("open labels: %v", err)
	}
	defer f.Close()
	var out []fixture
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 || cols[0] == "job_posting_id" {
			continue
		}
		out = append(out, fixture{
			path:     filepath.Join(dir, cols[0], cols[1]),
			pass:     contract.Pass(cols[1][:5]),
			expected: cols[2],
		})
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

// allowed is what labels.tsv permits for each label.
var allowed = map[string][]string{
	"ok":           {StatusOK, StatusRepaired},
	"truncated":    {StatusTruncated},
	"no_json":      {StatusNoJSON},
	"invalid_json": {StatusRepaired, StatusInvalid},
}

func checkFixtures(t *testing.T, dir string) {
	for _, fx := range loadFixtures(t, dir) {
		t.Run(strings.TrimPrefix(fx.path, dir+"/"), func(t *testing.T) {
			raw, err := os.ReadFile(fx.path)
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(fx.pass, string(raw))
			if !contains(allowed[fx.expected], got.Status) {
				t.Fatalf("status %s, want one of %v (label %s)", got.Status, allowed[fx.expected], fx.expected)
			}
			if got.Usable() && !strings.Contains(string(got.Result), `"`+fx.pass.Section()+`":{`) {
				t.Fatalf("result lacks the %s section", fx.pass.Section())
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseOwnFixtures(t *testing.T) { checkFixtures(t, "testdata") }

func TestParseSharedFixtures(t *testing.T) {
	if _, err := os.Stat(sharedFixtures); err != nil {
		t.Skipf("shared fixtures not present at %s", sharedFixtures)
	}
	checkFixtures(t, sharedFixtures)
}
