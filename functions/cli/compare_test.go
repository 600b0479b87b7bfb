package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestParseCompareConfig(t *testing.T) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	const mistral = "mistral.mistral-large-3-675b-instruct"
	tests := []struct {
		spec            string
		models, efforts []string
		tier, wantErr   string
	}{
		{"", s.Models(), s.ReasoningEfforts(), "", ""},
		{"effort=high,tier=flex", s.Models(), []string{"high", "high", "high"}, "flex", ""},
		{"effort=low,pass3.effort=none", s.Models(), []string{"low", "low", ""}, "", ""},
		{"model=" + mistral, []string{mistral, mistral, mistral}, []string{"", "", ""}, "", ""},
		{"pass3.model=" + mistral, []string{stacks.DefaultModel, stacks.DefaultModel, mistral}, []string{"low", "low", ""}, "", ""},
		{"model=" + mistral + ",effort=low", nil, nil, "", "takes no reasoning effort"},
		{"effort=max", nil, nil, "", `reasoning effort "max"`},
		{"temperature=1", nil, nil, "", `unknown key "temperature"`},
		{"pass4.model=x", nil, nil, "", "pass4"},
		{"model", nil, nil, "", "want KEY=VALUE"},
		{"pass1.tier=flex", nil, nil, "", "tier applies to every pass"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := parseCompareConfig("b", tt.spec, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.Models, ",") != strings.Join(tt.models, ",") || strings.Join(c.Efforts, ",") != strings.Join(tt.efforts, ",") || c.Tier != tt.tier {
				t.Errorf("got models %v efforts %q tier %q", c.Models, c.Efforts, c.Tier)
			}
		})
	}
}

// Against the in-process emulator: both sides answer every pass, the cost follows each
// side's model price, and the offline model's identical answers agree completely.
func TestCompareWithEmulator(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	code, out := runCLI(t, "compare", "--local", "--json", "--jobs", "2", "--a", "effort=medium", "--b", "model=mistral.mistral-large-3-675b-instruct")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var c struct {
		Jobs   int `json:"jobs"`
		Passes []struct {
			Pass  contract.Pass `json:"pass"`
			Sides []struct {
				Model      string         `json:"model"`
				Effort     string         `json:"effort"`
				Statuses   map[string]int `json:"statuses"`
				CostPerJob float64        `json:"cost_usd_per_job"`
			} `json:"sides"`
			Agreement struct {
				Jobs  int     `json:"jobs"`
				Score float64 `json:"score"`
			} `json:"agreement"`
		} `json:"passes"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c.Jobs != 2 || len(c.Passes) != 3 {
		t.Fatalf("report %+v", c)
	}
	for _, p := range c.Passes {
		a, b := p.Sides[0], p.Sides[1]
		if a.Statuses["ok"] != 2 || b.Statuses["ok"] != 2 {
			t.Errorf("%s statuses %v / %v", p.Pass, a.Statuses, b.Statuses)
		}
		if a.Effort != "medium" || b.Effort != "" || !strings.HasPrefix(b.Model, "mistral.") {
			t.Errorf("%s sides %+v / %+v", p.Pass, a, b)
		}
		// Mistral Large costs 13× gpt-oss-120b per input token and 10× per output token.
		if a.CostPerJob <= 0 || b.CostPerJob < 5*a.CostPerJob {
			t.Errorf("%s cost per job %v / %v", p.Pass, a.CostPerJob, b.CostPerJob)
		}
		if p.Agreement.Jobs != 2 || p.Agreement.Score != 1 {
			t.Errorf("%s agreement %+v", p.Pass, p.Agreement)
		}
	}
}
