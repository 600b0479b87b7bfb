package enrich

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// withField returns a complete offline answer for pass with the field at path (dot
// separated) replaced by value.
func withField(t *testing.T, pass contract.Pass, path string, value any) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(completeAnswer(t, pass)), &doc); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(path, ".")
	m := doc
	for _, k := range keys[:len(keys)-1] {
		m = m[k].(map[string]any)
	}
	m[keys[len(keys)-1]] = value
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// fieldAt reads the field at path from a parsed result, re-encoded as JSON text.
func fieldAt(t *testing.T, result json.RawMessage, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(result, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		v = v.(map[string]any)[k]
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestValidateNormalises(t *testing.T) {
	const (
		comp  = "extraction.compensation."
		skill = "extraction.skills_classified."
		sen   = "inference.seniority_and_role.seniority_level"
	)
	tests := []struct {
		name   string
		pass   contract.Pass
		path   string
		value  any
		want   string // the normalised field, as JSON
		issues int
	}{
		{"period synonym", contract.Pass1, comp + "salary_period", "Annual", `"yearly"`, 0},
		{"not_mentioned where the enum has no such value is null (W9)", contract.Pass1, comp + "salary_period", "not_mentioned", `null`, 0},
		{"number with separators", contract.Pass1, comp + "salary_min", "120,000", `120000`, 0},
		{"number with k", contract.Pass1, comp + "salary_max", "$150k", `150000`, 0},
		{"NaN text rejected", contract.Pass1, comp + "salary_min", "NaN", `null`, 1},
		{"infinity text rejected", contract.Pass1, comp + "salary_min", "Infinity", `null`, 1},
		{"negative salary out of range", contract.Pass1, comp + "salary_min", -5, `null`, 1},
		{"boolean where number expected", contract.Pass1, comp + "salary_min", true, `null`, 1},
		{"currency symbol", contract.Pass1, comp + "salary_currency", "$", `"USD"`, 0},
		{"bad currency", contract.Pass1, comp + "salary_currency", "dollars and cents", `null`, 1},
		{"enum case and dash", contract.Pass1, "extraction.work_model.work_model_stated", "On-Site", `"onsite"`, 0},
		{"unknown enum becomes not_mentioned", contract.Pass1, "extraction.work_model.work_model_stated", "sometimes", `"not_mentioned"`, 1},
		{"null enum becomes not_mentioned", contract.Pass1, "extraction.work_model.work_model_stated", nil, `"not_mentioned"`, 0},
		{"list enum in an object", contract.Pass1, "extraction.work_model.work_model_stated", map[string]any{"a": 1}, `"not_mentioned"`, 1},
		{"ISO country: UK is GB", contract.Pass1, "extraction.geographic_restrictions.allowed_countries", []any{"UK", "us", "Narnia"}, `["GB","US"]`, 1},
		{"education synonym", contract.Pass1, skill + "education_level", "Bachelor's", `"BACHELORS"`, 0},
		{"list from comma text", contract.Pass1, skill + "must_have_hard_skills", "SQL, Python", `["SQL","Python"]`, 0},
		{"list dedup and blanks", contract.Pass1, skill + "must_have_hard_skills", []any{"SQL", " ", "SQL"}, `["SQL"]`, 0},
		{"null list is empty", contract.Pass1, skill + "certifications_mentioned", nil, `[]`, 0},
		{"cloud enum list", contract.Pass1, skill + "cloud_providers_mentioned", []any{"Amazon Web Services", "GCP", "heroku"}, `["aws","gcp"]`, 1},
		{"boolean from text", contract.Pass1, skill + "llm_genai_mentioned", "yes", `true`, 0},
		{"missing field reported", contract.Pass1, "extraction.context", map[string]any{}, `{"company_description_text":null,"team_info_text":null}`, 2},
		{"judgement value synonym", contract.Pass2, sen, map[string]any{"value": "Mid-Level", "confidence": 0.8, "evidence": "x", "source": "inferred"}, `{"confidence":0.8,"evidence":"x","source":"inferred","value":"mid"}`, 0},
		{"bare judgement kept", contract.Pass2, sen, "senior", `{"confidence":null,"evidence":null,"source":null,"value":"senior"}`, 1},
		{"confidence out of range", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 1.5, "evidence": "x", "source": "inferred"}, `{"confidence":null,"evidence":"x","source":"inferred","value":"senior"}`, 1},
		{"source synonym", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": "0.9", "evidence": "x", "source": "combined"}, `{"confidence":0.9,"evidence":"x","source":"combined","value":"senior"}`, 0},
		{"earlier-pass source synonym drops its evidence", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 0.9, "evidence": "x", "source": "pass1_derived"}, `{"confidence":0.9,"evidence":null,"source":"previous_pass","value":"senior"}`, 0},
		{"stated value carries no evidence", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 0.95, "evidence": "Title says Senior", "source": "explicit"}, `{"confidence":0.95,"evidence":null,"source":"explicit","value":"senior"}`, 0},
		{"empty value carries no evidence", contract.Pass2, sen, map[string]any{"value": "not_mentioned", "confidence": 0.2, "evidence": "No mention of seniority", "source": "inferred"}, `{"confidence":0.2,"evidence":null,"source":"inferred","value":"not_mentioned"}`, 0},
		{"empty list carries no evidence", contract.Pass2, "inference.stack_and_cloud.secondary_clouds", map[string]any{"value": []any{}, "confidence": 0.8, "evidence": "Only AWS", "source": "inferred"}, `{"confidence":0.8,"evidence":null,"source":"inferred","value":[]}`, 0},
		{"judgement without source drops its evidence", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 0.7, "evidence": "x"}, `{"confidence":0.7,"evidence":null,"source":null,"value":"senior"}`, 0},
		{"long evidence is cut at a word", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 0.7, "evidence": strings.Repeat("seven years ", 20), "source": "inferred"},
			`{"confidence":0.7,"evidence":"` + strings.Repeat("seven years ", 9) + `seven…","source":"inferred","value":"senior"}`, 0},
		{"maturity score must be whole", contract.Pass3, "analysis.company_maturity.data_maturity_score", map[string]any{"value": 2.5}, `{"confidence":null,"evidence":null,"source":null,"value":null}`, 1},
		{"unknown summary category dropped", contract.Pass3, "summary.strength_categories", []any{"Remote Friendly", "free_snacks"}, `["remote_friendly"]`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.pass, withField(t, tt.pass, tt.path, tt.value))
			if got.Status != StatusOK {
				t.Fatalf("status %s", got.Status)
			}
			if f := fieldAt(t, got.Result, tt.path); f != tt.want {
				t.Errorf("field = %s, want %s", f, tt.want)
			}
			if len(got.Issues) != tt.issues {
				t.Errorf("issues = %v, want %d", got.Issues, tt.issues)
			}
		})
	}
}

func TestValidateLegacySummaryAlias(t *testing.T) {
	raw := withField(t, contract.Pass3, "summary.strength_details", nil)
	var doc map[string]map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["summary"], "strength_details")
	doc["summary"]["strengths"] = []any{"good pay"}
	out, _ := json.Marshal(doc)
	got := Parse(contract.Pass3, string(out))
	if f := fieldAt(t, got.Result, "summary.strength_details"); f != `["good pay"]` {
		t.Fatalf("strength_details = %s", f)
	}
	if len(got.Issues) != 0 {
		t.Fatalf("issues %v", got.Issues)
	}
}
