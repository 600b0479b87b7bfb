package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
)

// The dry run prints the request the SDK would send, and the Bedrock emulator (which
// validates like Bedrock) accepts it as sent.
func TestRunPassDryRun(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "job.json")
	posting := `{"job_posting_id":"4325749256","job_title":"Data Engineer","company_name":"Acme","job_location":"Remote, US",
		"job_description_text":"Remote. $140,000 - $160,000 a year. Python, Spark and Airflow. 4+ years."}`
	if err := os.WriteFile(job, []byte(posting), 0o600); err != nil {
		t.Fatal(err)
	}
	emu := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Offline: offline.Answer}))
	defer emu.Close()
	tests := []struct {
		name       string
		args       []string
		effort     string // in additionalModelRequestFields, "" for none
		structured bool
	}{
		{"gpt-oss pass1: stack effort and schema", []string{"--pass", "pass1"}, "low", true},
		{"gpt-oss pass3 high", []string{"--pass", "pass3", "--reasoning-effort", "high",
			"--previous", "pass1=../enrich/testdata/complete/pass1.json", "--previous", "pass2=../enrich/testdata/complete/pass2.json"}, "high", true},
		{"mistral: template, no effort", []string{"--pass", "pass1", "--model", "mistral.mistral-large-3-675b-instruct"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runCLI(t, append([]string{"run-pass", "--dry-run", "--job", job}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, out)
			}
			var d dryRun
			if err := json.Unmarshal([]byte(out), &d); err != nil {
				t.Fatal(err)
			}
			var req struct {
				AdditionalModelRequestFields struct {
					ReasoningEffort string `json:"reasoning_effort"`
				} `json:"additionalModelRequestFields"`
				InferenceConfig struct {
					MaxTokens int `json:"maxTokens"`
				} `json:"inferenceConfig"`
				OutputConfig *json.RawMessage `json:"outputConfig"`
				System       []struct {
					Text string `json:"text"`
				} `json:"system"`
			}
			if err := json.Unmarshal(d.Request, &req); err != nil {
				t.Fatal(err)
			}
			if req.AdditionalModelRequestFields.ReasoningEffort != tt.effort || d.ReasoningEffort != tt.effort {
				t.Errorf("reasoning effort sent %q, reported %q, want %q", req.AdditionalModelRequestFields.ReasoningEffort, d.ReasoningEffort, tt.effort)
			}
			if req.InferenceConfig.MaxTokens != d.MaxTokens || d.MaxTokens <= 0 || d.MaxTokens > 16384 || d.RetryMaxTokens > 16384 {
				t.Errorf("maxTokens sent %d, reported %d/%d", req.InferenceConfig.MaxTokens, d.MaxTokens, d.RetryMaxTokens)
			}
			if (req.OutputConfig != nil) != tt.structured || (d.SchemaTokens > 0) != tt.structured {
				t.Errorf("outputConfig sent: %v, schema tokens %d, want structured %v", req.OutputConfig != nil, d.SchemaTokens, tt.structured)
			}
			if hasTemplate := strings.Contains(req.System[0].Text, `"confidence": number 0-1`) || strings.Contains(req.System[0].Text, `"salary_min": number`); hasTemplate == tt.structured {
				t.Errorf("template in the prompt: %v, structured output %v", hasTemplate, tt.structured)
			}
			if d.InputTokens < 300 || d.Method != http.MethodPost || !strings.HasSuffix(d.Path, "/converse") {
				t.Errorf("implausible dry run %+v", d)
			}
			resp, err := http.Post(emu.URL+d.Path, "application/json", bytes.NewReader(d.Request))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the emulator (validating like Bedrock) answered %s to the dry-run request", resp.Status)
			}
		})
	}
}
