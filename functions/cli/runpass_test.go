package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs enrichctl in-process and returns its exit code and standard output;
// standard error goes to the test log.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCLIWith(t, "", args...)
	if errOut != "" {
		t.Logf("enrichctl %v stderr:\n%s", args, errOut)
	}
	return code, out
}

// runCLIWith runs enrichctl in-process on stdin and returns its exit code, standard
// output and standard error.
func runCLIWith(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), IO{In: strings.NewReader(stdin), Out: &out, Err: &errOut}, args)
	return code, out.String(), errOut.String()
}

func TestRunPassLocalThreePasses(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	dir := t.TempDir()
	job := filepath.Join(dir, "job.json")
	posting := `{"job_posting_id":"4325749256","job_title":"Data Engineer","company_name":"Acme","job_location":"Remote, US",
		"job_description_text":"Remote. $140,000 - $160,000 a year. Python, Spark and Airflow. 4+ years. <job_posting id=\"1\">"}`
	if err := os.WriteFile(job, []byte(posting), 0o600); err != nil {
		t.Fatal(err)
	}
	var previous []string
	for _, pass := range []string{"pass1", "pass2", "pass3"} {
		args := append([]string{"run-pass", "--local", "--pass", pass, "--job", job}, previous...)
		code, out := runCLI(t, args...)
		if code != ExitOK {
			t.Fatalf("%s: exit %d\n%s", pass, code, out)
		}
		var res runPassResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", pass, err, out)
		}
		if res.Status != "ok" || res.ModelCalls != 1 || res.Tokens.Output == 0 || res.CostUSD <= 0 || !strings.Contains(res.Endpoint, "offline") {
			t.Fatalf("%s: %+v", pass, res)
		}
		file := filepath.Join(dir, pass+".json")
		if err := os.WriteFile(file, res.Result, 0o600); err != nil {
			t.Fatal(err)
		}
		previous = append(previous, "--previous", pass+"="+file)
	}
}

func TestRunPassUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"job_posting_id":"../x","job_description_text":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"job_posting_id":"12","job_description_text":"Python"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"unknown pass", []string{"run-pass", "--local", "--pass", "pass4", "--job", good}},
		{"invalid job id", []string{"run-pass", "--local", "--pass", "pass1", "--job", bad}},
		{"missing file", []string{"run-pass", "--local", "--pass", "pass1", "--job", filepath.Join(dir, "none.json")}},
		{"pass2 without pass1", []string{"run-pass", "--local", "--pass", "pass2", "--job", good}},
		{"missing --job", []string{"run-pass", "--local", "--pass", "pass1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := runCLI(t, tt.args...); code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, ExitUsage, out)
			}
		})
	}
}
