package offline

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func posting(title, location, text string) contract.Posting {
	return contract.Posting{JobPostingID: "4201877691", JobTitle: title, CompanyName: "UNFCU", JobLocation: location, CountryCode: "US", DescriptionText: text}
}

// answers runs the three passes over p as the handler would, each parsed and
// validated by enrich, and fails on any issue.
func answers(t *testing.T, p contract.Posting) (enrich.Extraction, enrich.Inference, enrich.AnalysisResult) {
	t.Helper()
	prev := map[contract.Pass]json.RawMessage{}
	for _, pass := range contract.Passes {
		req, err := enrich.BuildRequest(pass, p, prev, enrich.Target{StructuredOutput: true})
		if err != nil {
			t.Fatal(err)
		}
		answer := Answer(pass, req.Messages[0].Text)
		got := enrich.Parse(pass, answer)
		if got.Status != enrich.StatusOK || len(got.Issues) != 0 {
			t.Fatalf("%s %s: status %s issues %v", p.JobTitle, pass, got.Status, got.Issues)
		}
		if again := Answer(pass, req.Messages[0].Text); again != answer {
			t.Fatalf("%s: not deterministic", pass)
		}
		prev[pass] = got.Result
	}
	var e enrich.ExtractionResult
	var i enrich.InferenceResult
	var a enrich.AnalysisResult
	for pass, v := range map[contract.Pass]any{contract.Pass1: &e, contract.Pass2: &i, contract.Pass3: &a} {
		if err := json.Unmarshal(prev[pass], v); err != nil {
			t.Fatal(err)
		}
	}
	return e.Extraction, i.Inference, a
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func num(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// Each pay format the generator writes (and the ones real postings use) is read as
// stated. Before the offline model moved here it found only ranges starting with $, €
// or £: every case but the first came out salary_disclosed false.
func TestAnswerReadsPay(t *testing.T) {
	tests := []struct {
		text             string
		disclosed        bool
		lo, hi           float64
		currency, period string
		hourly           bool
	}{
		{"Salary range: $105,000 - $140,000 annually.", true, 105000, 140000, "USD", "yearly", false},
		{"Salary: USD 152000 - 197600 per year.", true, 152000, 197600, "USD", "yearly", false},
		{"Pay: $67 - $82 per hour on a W2 basis.", true, 67, 82, "USD", "hourly", true},
		{"Pay: $67/hr on a W2 basis.", true, 67, 67, "USD", "hourly", true},
		{"Faixa salarial: R$ 6100 a R$ 7625 por mês (CLT).", true, 6100, 7625, "BRL", "monthly", false},
		{"Compensation around 172k plus equity.", true, 172000, 172000, "<nil>", "yearly", false},
		{"Salary: £50000 - £62500 per annum.", true, 50000, 62500, "GBP", "yearly", false},
		{"Gehalt: EUR 65000 - 81250 pro Jahr.", true, 65000, 81250, "EUR", "yearly", false},
		{"Salario: MXN 45000 - 56250 al mes.", true, 45000, 56250, "MXN", "monthly", false},
		{"$150-180k DOE.", true, 150000, 180000, "USD", "yearly", false},
		{"Contrato CLT 2024 - 2025, sem salário informado.", false, 0, 0, "", "", false},
		{"No pay stated. 3+ years of SQL.", false, 0, 0, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			e, _, a := answers(t, posting("Data Engineer", "Queens, NY", tt.text))
			c := e.Compensation
			if *c.SalaryDisclosed != tt.disclosed {
				t.Fatalf("salary_disclosed %v, want %v", *c.SalaryDisclosed, tt.disclosed)
			}
			if !tt.disclosed {
				if !slices.Contains(a.Summary.ConcernCategories, "salary_not_disclosed") {
					t.Error("no salary_not_disclosed concern")
				}
				return
			}
			lo, hi, cur := c.SalaryMin, c.SalaryMax, c.SalaryCurrency
			if tt.hourly {
				lo, hi, cur = c.HourlyRateMin, c.HourlyRateMax, c.HourlyRateCurrency
			}
			if num(lo) != tt.lo || num(hi) != tt.hi || str(cur) != tt.currency || str(c.SalaryPeriod) != tt.period {
				t.Errorf("got %v-%v %s %s, want %v-%v %s %s", num(lo), num(hi), str(cur), str(c.SalaryPeriod), tt.lo, tt.hi, tt.currency, tt.period)
			}
		})
	}
}

func TestAnswerReadsVisaSkillsAndSeniority(t *testing.T) {
	tests := []struct {
		title, text       string
		visa, seniority   string
		skills, clouds    []string
		years             float64
		workModel, family string
	}{
		{"Senior BI Data Engineer", "We build on AWS (Redshift) with Airflow and dbt. Hybrid. 6+ years of SQL and Python. Visa sponsorship is not available.",
			"will_not_sponsor", "senior", []string{"Python", "SQL", "Airflow", "dbt", "Redshift"}, []string{"aws"}, 6, "hybrid", "bi_engineer"},
		{"Data Engineer Intern", "You work with Go, Kafka and Spark. The role is fully remote. Visa sponsorship is available for this role.",
			"will_sponsor", "intern", []string{"Spark", "Kafka", "Go"}, nil, -1, "remote", "data_engineer"},
		{"Junior Analytics Engineer", "Você vai trabalhar com Snowflake e GCP. Esperamos 1+ anos de experiência. O trabalho é presencial. Candidates must be authorized to work in the US.",
			"must_be_authorized", "junior", []string{"Snowflake"}, []string{"gcp"}, 1, "onsite", "analytics_engineer"},
		{"Cloud Data Architect", "Du arbeitest mit Terraform und Azure. Wir erwarten 3+ Jahre Erfahrung.",
			"not_mentioned", "mid", []string{"Terraform"}, []string{"azure"}, 3, "not_mentioned", "data_architect"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			e, in, _ := answers(t, posting(tt.title, "Somewhere", tt.text))
			if got := str(e.WorkAuthorization.VisaSponsorship); got != tt.visa {
				t.Errorf("visa %s, want %s", got, tt.visa)
			}
			if tt.visa != "not_mentioned" && !strings.Contains(tt.text, str(e.WorkAuthorization.WorkAuthText)) {
				t.Errorf("work_auth_text %q is not the posting's sentence", str(e.WorkAuthorization.WorkAuthText))
			}
			if got := str(in.SeniorityAndRole.SeniorityLevel.Value); got != tt.seniority {
				t.Errorf("seniority %s, want %s", got, tt.seniority)
			}
			if got := str(in.SeniorityAndRole.JobFamily.Value); got != tt.family {
				t.Errorf("family %s, want %s", got, tt.family)
			}
			if !sameSet(e.Skills.MustHaveHard, tt.skills) || !sameSet(e.Skills.CloudProviders, tt.clouds) {
				t.Errorf("skills %v clouds %v, want %v %v", e.Skills.MustHaveHard, e.Skills.CloudProviders, tt.skills, tt.clouds)
			}
			if num(e.Skills.YearsExperienceMin) != tt.years {
				t.Errorf("years %v, want %v", num(e.Skills.YearsExperienceMin), tt.years)
			}
			if got := str(e.WorkModel.WorkModelStated); got != tt.workModel {
				t.Errorf("work model %s, want %s", got, tt.workModel)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The offline model agrees with the generator: for every generated posting, read back
// through the Silver reader, the offline answer states the pay of the Silver columns
// (or the approximate figure the text gives), the skills of skills_canonical, the
// seniority of the title, the work model and the visa statement of the text.
func TestAnswerAgreesWithGenerator(t *testing.T) {
	var buf bytes.Buffer
	p := silver.PartitionOf(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC))
	if err := sample.Write(&buf, sample.NewGenerator(7).Rows(p, 150), 0); err != nil {
		t.Fatal(err)
	}
	var postings []contract.Posting
	if _, err := silver.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "k", func(p contract.Posting) error {
		postings = append(postings, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	periods := map[string]string{"YEARLY": "yearly", "MONTHLY": "monthly", "HOURLY": "hourly"}
	seen := map[string]int{}
	for _, p := range postings {
		e, in, a := answers(t, p)
		c := e.Compensation
		id := p.JobPostingID + " " + p.JobLocation
		switch {
		case p.SalaryMin != nil:
			seen["range"]++
			lo, hi, cur := c.SalaryMin, c.SalaryMax, c.SalaryCurrency
			if p.SalaryPeriod == "HOURLY" {
				lo, hi, cur = c.HourlyRateMin, c.HourlyRateMax, c.HourlyRateCurrency
			}
			if !*c.SalaryDisclosed || num(lo) != *p.SalaryMin || num(hi) != *p.SalaryMax || str(cur) != p.SalaryCurrency || str(c.SalaryPeriod) != periods[p.SalaryPeriod] {
				t.Errorf("%s: offline %v-%v %s %s, Silver %v-%v %s %s (%q)", id, num(lo), num(hi), str(cur), str(c.SalaryPeriod),
					*p.SalaryMin, *p.SalaryMax, p.SalaryCurrency, p.SalaryPeriod, p.DescriptionText[max(0, len(p.DescriptionText)-80):])
			}
		case strings.Contains(p.DescriptionText, "around "):
			seen["around"]++
			if !*c.SalaryDisclosed || c.SalaryMin == nil {
				t.Errorf("%s: approximate pay not found", id)
			}
		default:
			seen["none"]++
			if *c.SalaryDisclosed {
				t.Errorf("%s: pay found in a posting without one: %s", id, str(c.SalaryTextRaw))
			}
		}
		found := slices.Concat(e.Skills.MustHaveHard, e.Skills.CloudProviders)
		for i := range found {
			found[i] = strings.ToLower(found[i])
		}
		if !sameSet(found, p.SkillsCanonical) {
			t.Errorf("%s: offline skills %v, Silver %v", id, found, p.SkillsCanonical)
		}
		want := map[string]string{"Internship": "intern", "Entry level": "junior", "Associate": "associate", "Director": "principal"}[p.JobSeniorityLevel]
		if p.JobSeniorityLevel == "Mid-Senior level" {
			want = map[bool]string{true: "senior", false: "mid"}[strings.HasPrefix(p.JobTitle, "Senior ")]
		}
		if got := str(in.SeniorityAndRole.SeniorityLevel.Value); got != want {
			t.Errorf("%s: seniority %s for %q listed %s", id, got, p.JobTitle, p.JobSeniorityLevel)
		}
		if strings.Contains(p.DescriptionText, "Visa sponsorship is not available") != (str(e.WorkAuthorization.VisaSponsorship) == "will_not_sponsor") {
			t.Errorf("%s: visa %s", id, str(e.WorkAuthorization.VisaSponsorship))
		}
		seen[str(e.WorkModel.WorkModelStated)]++
		seen[str(e.WorkAuthorization.VisaSponsorship)]++
		if !strings.Contains(str(a.Summary.OverallAssessment), "Offline model") || !strings.HasPrefix(str(e.Context.CompanyDescriptionText), Label) ||
			!strings.HasPrefix(str(in.SeniorityAndRole.SeniorityLevel.Evidence), Label) {
			t.Errorf("%s: an answer is not labelled offline", id)
		}
	}
	for _, k := range []string{"range", "around", "none", "remote", "hybrid", "onsite", "will_sponsor", "will_not_sponsor", "must_be_authorized", "not_mentioned"} {
		if seen[k] == 0 {
			t.Errorf("no generated posting with %s (%v)", k, seen)
		}
	}
}
