package enrich

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestOfflineAnswerIsValid(t *testing.T) {
	hourly := samplePosting()
	hourly.JobTitle = "Data Analyst (Contract)"
	hourly.DescriptionText = "Remote contract role, $55 - $70 per hour. Azure, GCP, Spark, LLM pipelines."
	foreign := samplePosting()
	foreign.JobTitle = "Engenheiro de Dados Sênior"
	foreign.DescriptionText = strings.Repeat("Experiência com dados em nuvem. ", 1000)
	empty := samplePosting()
	empty.JobTitle, empty.CompanyName, empty.JobLocation, empty.DescriptionText = "", "", "", ""
	for name, p := range map[string]contract.Posting{"salaried": samplePosting(), "hourly": hourly, "foreign": foreign, "empty": empty} {
		for _, pass := range contract.Passes {
			req, err := BuildRequest(pass, p, previousFor(t, pass, p), testTarget)
			if err != nil {
				t.Fatal(err)
			}
			answer := OfflineAnswer(pass, req.Messages[0].Text)
			got := Parse(pass, answer)
			if got.Status != StatusOK || len(got.Issues) != 0 {
				t.Errorf("%s %s: status %s issues %v", name, pass, got.Status, got.Issues)
			}
			if again := OfflineAnswer(pass, req.Messages[0].Text); again != answer {
				t.Errorf("%s %s: not deterministic", name, pass)
			}
		}
	}
}

func TestOfflineAnswerReadsThePosting(t *testing.T) {
	p := samplePosting()
	req, err := BuildRequest(contract.Pass1, p, nil, testTarget)
	if err != nil {
		t.Fatal(err)
	}
	var doc ExtractionResult
	if err := json.Unmarshal([]byte(OfflineAnswer(contract.Pass1, req.Messages[0].Text)), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Extraction
	checks := []struct {
		name      string
		got, want any
	}{
		{"salary_min", *e.Compensation.SalaryMin, 105000.0},
		{"salary_max", *e.Compensation.SalaryMax, 140000.0},
		{"currency", *e.Compensation.SalaryCurrency, "USD"},
		{"work model", *e.WorkModel.WorkModelStated, "hybrid"},
		{"clouds", strings.Join(e.Skills.CloudProviders, ","), "aws"},
		{"years", *e.Skills.YearsExperienceMin, 6.0},
		{"education", *e.Skills.EducationLevel, "BACHELORS"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	req3, err := BuildRequest(contract.Pass3, p, previousFor(t, contract.Pass3, p), testTarget)
	if err != nil {
		t.Fatal(err)
	}
	if a := OfflineAnswer(contract.Pass3, req3.Messages[0].Text); !strings.Contains(a, "Offline model") {
		t.Error("pass3 offline answer is not labelled as offline")
	}
}
