package enrich

import (
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestAgree(t *testing.T) {
	const (
		sen   = "inference.seniority_and_role.seniority_level"
		cloud = "inference.stack_and_cloud.secondary_clouds"
	)
	tests := []struct {
		name  string
		pass  contract.Pass
		path  string
		a, b  any
		kind  string
		score float64
	}{
		{"same enum", contract.Pass1, "extraction.work_model.work_model_stated", "remote", "remote", KindEnum, 1},
		{"different enum", contract.Pass1, "extraction.work_model.work_model_stated", "remote", "hybrid", KindEnum, 0},
		{"null and not_mentioned agree", contract.Pass1, "extraction.work_model.work_model_stated", nil, "not_mentioned", KindEnum, 1},
		{"country code", contract.Pass1, "extraction.compensation.salary_currency", "USD", "EUR", KindEnum, 0},
		{"number within 10%", contract.Pass1, "extraction.compensation.salary_min", 100000.0, 108000.0, KindNumber, 1},
		{"number beyond 10%", contract.Pass1, "extraction.compensation.salary_min", 100000.0, 120000.0, KindNumber, 0},
		{"score within a band", contract.Pass3, "analysis.tech_culture.tech_culture_score", map[string]any{"value": 0.6}, map[string]any{"value": 0.7}, KindNumber, 1},
		{"number and null", contract.Pass1, "extraction.compensation.salary_min", 100000.0, nil, KindNumber, 0},
		{"boolean", contract.Pass1, "extraction.skills_classified.llm_genai_mentioned", true, false, KindBool, 0},
		{"judgement values", contract.Pass2, sen, map[string]any{"value": "senior", "confidence": 0.9}, map[string]any{"value": "senior", "confidence": 0.5}, KindEnum, 1},
		{"list overlap", contract.Pass2, cloud, map[string]any{"value": []any{"aws", "gcp"}}, map[string]any{"value": []any{"AWS", "azure"}}, KindList, 1.0 / 3},
		{"empty lists agree", contract.Pass2, cloud, map[string]any{"value": []any{}}, map[string]any{"value": nil}, KindList, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := withField(t, tt.pass, tt.path, tt.a)
			b := withField(t, tt.pass, tt.path, tt.b)
			got, err := Agree(tt.pass, Parse(tt.pass, a).Result, Parse(tt.pass, b).Result)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range got {
				switch {
				case f.Field == tt.path:
					found = true
					if f.Kind != tt.kind || f.Score != tt.score {
						t.Errorf("%s: kind %s score %v, want %s %v", f.Field, f.Kind, f.Score, tt.kind, tt.score)
					}
				case f.Score != 1:
					t.Errorf("%s differs (%v) though only %s was changed", f.Field, f.Score, tt.path)
				}
			}
			if !found {
				t.Fatalf("%s not compared", tt.path)
			}
		})
	}
}

func TestAgreeSkipsFreeText(t *testing.T) {
	a := withField(t, contract.Pass1, "extraction.compensation.salary_text_raw", "$100k")
	b := withField(t, contract.Pass1, "extraction.compensation.salary_text_raw", "100,000 USD")
	got, err := Agree(contract.Pass1, Parse(contract.Pass1, a).Result, Parse(contract.Pass1, b).Result)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if f.Field == "extraction.compensation.salary_text_raw" || f.Score != 1 {
			t.Errorf("free text compared: %+v", f)
		}
	}
	if len(got) < 30 {
		t.Errorf("only %d fields compared", len(got))
	}
}
