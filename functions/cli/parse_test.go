package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runParse runs `enrichctl parse` in-process and returns its exit code and output.
func runParse(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	code, out, _ := runCLIWith(t, stdin, append([]string{"parse"}, args...)...)
	return code, out
}

type parseOutput struct {
	Status  string          `json:"status"`
	Section string          `json:"section"`
	Result  json.RawMessage `json:"result"`
	Issues  []any           `json:"issues"`
}

// fixtureDirs are the enrich package's own fixtures and, when present, the shared set.
func fixtureDirs(t *testing.T) []string {
	dirs := []string{"../enrich/testdata"}
	if _, err := os.Stat("../../../shared/fixtures/model-responses/labels.tsv"); err == nil {
		dirs = append(dirs, "../../../shared/fixtures/model-responses")
	} else {
		t.Log("shared fixtures absent: checking the package's own fixtures only")
	}
	return dirs
}

func TestParseCommandOverFixtures(t *testing.T) {
	allowed := map[string]string{"ok": "ok repaired", "truncated": "truncated", "no_json": "no_json", "invalid_json": "repaired invalid"}
	for _, dir := range fixtureDirs(t) {
		f, err := os.Open(filepath.Join(dir, "labels.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) != 3 || cols[0] == "job_posting_id" {
				continue
			}
			n++
			path := filepath.Join(dir, cols[0], cols[1])
			code, out := runParse(t, "", "--pass", cols[1][:5], path)
			var got parseOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
				t.Fatalf("%s: exit %d, output %q: %v", path, code, out, err)
			}
			if !strings.Contains(allowed[cols[2]], got.Status) {
				t.Errorf("%s: status %s, label %s", path, got.Status, cols[2])
			}
			var result map[string]map[string]any
			if (got.Status == "ok" || got.Status == "repaired") && (json.Unmarshal(got.Result, &result) != nil || result[got.Section] == nil) {
				t.Errorf("%s: result lacks section %s", path, got.Section)
			}
		}
		f.Close()
		if n == 0 {
			t.Fatalf("no fixtures listed in %s", dir)
		}
	}
}

func TestParseCommandStdinAndUsage(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		status string
	}{
		{"stdin no json", "I am thinking.", []string{"--pass", "pass2", "-"}, 0, "no_json"},
		{"stdin truncated", `{"analysis": {"company_maturity": {`, []string{"--pass", "pass3", "-"}, 0, "truncated"},
		{"missing pass", "", []string{"-"}, 2, ""},
		{"unknown pass", "", []string{"--pass", "pass9", "-"}, 2, ""},
		{"no file argument", "", []string{"--pass", "pass1"}, 2, ""},
		{"missing file", "", []string{"--pass", "pass1", "/nonexistent/answer.txt"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runParse(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d", code, tt.code)
			}
			if tt.status == "" {
				return
			}
			var got parseOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.Issues == nil {
				t.Fatalf("status %s issues %v", got.Status, got.Issues)
			}
		})
	}
}

func TestParseEmptyObjectAndBinary(t *testing.T) {
	tests := []struct {
		name, stdin, status, issue string
	}{
		{"empty object", "{}", "invalid", "no JSON object in the answer holds the extraction result"},
		{"binary", "\x00\x01{\xff\xfe\"a\":", "no_json", "not UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runParse(t, tt.stdin, "--pass", "pass1", "-")
			var p parseOutput
			if err := json.Unmarshal([]byte(out), &p); err != nil || code != ExitOK {
				t.Fatalf("exit %d, %v\n%s", code, err, out)
			}
			if p.Status != tt.status || len(p.Issues) == 0 || !strings.Contains(out, tt.issue) {
				t.Fatalf("parse %s: %s", tt.name, out)
			}
		})
	}
}
