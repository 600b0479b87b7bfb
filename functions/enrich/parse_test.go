package enrich

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// minimal pass1 answers: two groups of the section, enough to be valid.
const (
	p1Body  = `{"compensation": {"salary_disclosed": true, "salary_min": 100000, "salary_max": 120000, "salary_currency": "USD", "salary_period": "yearly", "salary_text_raw": "$100k-$120k", "hourly_rate_min": null, "hourly_rate_max": null, "hourly_rate_currency": null, "hourly_rate_text_raw": null}, "work_model": {"work_model_stated": "remote", "location_restriction_text": null, "employment_type_stated": "full_time"}, "work_authorization": {"visa_sponsorship_stated": "not_mentioned", "work_auth_text": null, "citizenship_text": null, "security_clearance_stated": "not_mentioned"}, "context": {"team_info_text": null, "company_description_text": null}, "benefits_structured": {"benefits_mentioned": [], "equity_mentioned": false, "learning_budget_mentioned": false, "conference_budget_mentioned": false, "hardware_choice_mentioned": false, "pto_policy": "not_mentioned"}}`
	p1Full  = `{"extraction": ` + p1Body + `}`
	p1Other = `{"extraction": {"compensation": {"salary_min": 1}, "work_model": {"work_model_stated": "onsite"}}}`
)

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name, raw, status string
		workModel         string // expected extraction.work_model.work_model_stated when usable
	}{
		{"bare object", p1Full, StatusOK, "remote"},
		{"fenced", "Here you go:\n```json\n" + p1Full + "\n```\n", StatusOK, "remote"},
		{"wrapper-less", p1Body, StatusOK, "remote"},
		{"nested one level", `{"result": ` + p1Full + `}`, StatusOK, "remote"},
		{"reasoning quotes json first", "<reasoning>The schema looks like " + p1Other + " so…</reasoning>\n" + p1Full, StatusOK, "remote"},
		{"think block", "<think>" + p1Full + "</think>" + strings.Replace(p1Full, `"remote"`, `"hybrid"`, 1), StatusOK, "hybrid"},
		{"closing tag without opening", p1Other + "</think>\n" + p1Full, StatusOK, "remote"},
		{"last object wins", p1Other + "\ncorrected:\n" + p1Full, StatusOK, "remote"},
		{"stray brace in prose", "Use { for objects. " + p1Full, StatusOK, "remote"},
		{"trailing commas", strings.Replace(p1Full, `"full_time"}`, `"full_time",}`, 1), StatusRepaired, "remote"},
		{"comments", strings.Replace(p1Full, `"work_model": {`, "\"work_model\": { // stated\n", 1), StatusRepaired, "remote"},
		{"single quotes", strings.Replace(p1Full, `"remote"`, `'remote'`, 1), StatusRepaired, "remote"},
		{"apostrophe inside single quotes", strings.Replace(p1Full, `"salary_text_raw": "$100k-$120k"`, `'salary_text_raw': 'it's $100k'`, 1), StatusRepaired, "remote"},
		{"smart quotes", strings.Replace(p1Full, `"work_model_stated": "remote"`, `“work_model_stated”: “remote”`, 1), StatusRepaired, "remote"},
		{"raw newline in string", strings.Replace(p1Full, `$100k-$120k`, "$100k\n-$120k", 1), StatusRepaired, "remote"},
		{"NaN literal", strings.Replace(p1Full, `"salary_min": 100000`, `"salary_min": NaN`, 1), StatusRepaired, "remote"},
		{"truncated", p1Full[:len(p1Full)/2], StatusTruncated, ""},
		{"truncated in fence", "```json\n" + p1Full[:200], StatusTruncated, ""},
		{"reasoning only", "<reasoning>Let me think about {the salary}.</reasoning>", StatusNoJSON, ""},
		{"unclosed reasoning", "<reasoning>I would answer " + p1Full, StatusNoJSON, ""},
		{"empty", "", StatusNoJSON, ""},
		{"prose", "I cannot help with that.", StatusNoJSON, ""},
		{"other json", `{"answer": 42}`, StatusInvalid, ""},
		{"empty section", `{"extraction": {}}`, StatusInvalid, ""},
		{"near-empty section", `{"extraction": {"compensation": {"salary_min": 1}}}`, StatusInvalid, ""},
		{"broken quotes", strings.Replace(p1Full, `"work_model_stated"`, `" "work_model_stated"`, 1), StatusInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(contract.Pass1, tt.raw)
			if got.Status != tt.status {
				t.Fatalf("status %s, want %s (issues %v)", got.Status, tt.status, got.Issues)
			}
			if got.Section != "extraction" {
				t.Fatalf("section %q", got.Section)
			}
			if tt.workModel == "" {
				return
			}
			var doc ExtractionResult
			if err := json.Unmarshal(got.Result, &doc); err != nil {
				t.Fatalf("result: %v", err)
			}
			if wm := doc.Extraction.WorkModel.WorkModelStated; wm == nil || *wm != tt.workModel {
				t.Fatalf("work_model_stated %v, want %s", wm, tt.workModel)
			}
		})
	}
}

func TestParsePass3Summary(t *testing.T) {
	base := func() (analysis, summary map[string]any) {
		var doc map[string]map[string]any
		if err := json.Unmarshal([]byte(completeAnswer(t, contract.Pass3)), &doc); err != nil {
			t.Fatal(err)
		}
		doc["summary"]["recommendation_score"] = 0.7
		return doc["analysis"], doc["summary"]
	}
	tests := []struct {
		name  string
		shape func(a, s map[string]any) any
	}{
		{"summary beside analysis", func(a, s map[string]any) any { return map[string]any{"analysis": a, "summary": s} }},
		{"summary inside analysis", func(a, s map[string]any) any { a["summary"] = s; return map[string]any{"analysis": a} }},
		{"summary fields flattened into analysis", func(a, s map[string]any) any {
			for k, v := range s {
				a[k] = v
			}
			return map[string]any{"analysis": a}
		}},
		{"no wrapper", func(a, s map[string]any) any { a["summary"] = s; return a }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.shape(base()))
			if err != nil {
				t.Fatal(err)
			}
			got := Parse(contract.Pass3, string(raw))
			if got.Status != StatusOK || len(got.Issues) != 0 {
				t.Fatalf("status %s issues %v", got.Status, got.Issues)
			}
			var doc AnalysisResult
			if err := json.Unmarshal(got.Result, &doc); err != nil {
				t.Fatal(err)
			}
			if s := doc.Summary.RecommendationScore; s == nil || *s != 0.7 {
				t.Fatalf("recommendation_score %v", s)
			}
		})
	}
}

func TestParseFlattenedGroups(t *testing.T) {
	raw := `{"seniority_level": {"value": "Senior", "confidence": 0.9, "evidence": "title", "source": "pass1_derived"},
		"job_family": {"value": "data_engineer", "confidence": 0.9, "evidence": "title", "source": "explicit"},
		"primary_cloud": {"value": "AWS", "confidence": 0.9, "evidence": "x", "source": "inferred"},
		"requirement_strictness": {"value": "high", "confidence": 0.6, "evidence": "x", "source": "inferred"}}`
	got := Parse(contract.Pass2, raw)
	var doc InferenceResult
	if err := json.Unmarshal(got.Result, &doc); err != nil {
		t.Fatal(err)
	}
	sr := doc.Inference.SeniorityAndRole.SeniorityLevel
	if *sr.Value != "senior" || *sr.Source != "previous_pass" {
		t.Fatalf("seniority %v source %v", *sr.Value, *sr.Source)
	}
	if *doc.Inference.StackAndCloud.PrimaryCloud.Value != "aws" {
		t.Fatalf("primary_cloud %v", *doc.Inference.StackAndCloud.PrimaryCloud.Value)
	}
}

func TestParseNeverPanicsOnOddInput(t *testing.T) {
	for _, raw := range []string{"{", "}", "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{", `{"extraction": "text"}`, `{"extraction": []}`,
		`{"extraction": {"compensation": [], "work_model": null, "skills_classified": {"must_have_hard_skills": {"a": 1}}}}`,
		"\xff\xfe{\"a\x00\": 'b", `{"extraction": {"compensation": {"salary_min": -Infinity}, "work_model": {}}}`,
		// Inputs that would make a naive scanner quadratic.
		strings.Repeat(`{"}`, 50000), strings.Repeat("<think></think><", 20000), strings.Repeat("{", 100000)} {
		for _, pass := range contract.Passes {
			_ = Parse(pass, raw)
		}
	}
}
