package enrich

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// offlineEvidence labels every offline judgement, so nobody mistakes it for a model's.
const offlineEvidence = "offline model: keyword rule"

// OfflineAnswer is the local cloud's deterministic stand-in for a model: it reads the
// posting in a user prompt built by BuildRequest and answers pass with a schema-valid
// JSON document derived from simple keyword rules. Same prompt, same answer.
func OfflineAnswer(pass contract.Pass, userPrompt string) string {
	f := readPosting(userPrompt)
	var doc any
	switch pass {
	case contract.Pass1:
		doc = ExtractionResult{Extraction: f.extraction()}
	case contract.Pass2:
		doc = InferenceResult{Inference: f.inference()}
	default:
		doc = f.analysis()
	}
	out, err := json.Marshal(doc)
	if err != nil {
		// The result types hold only strings, numbers, booleans and lists: cannot happen.
		panic(fmt.Sprintf("enrich: encode offline answer: %v", err))
	}
	return string(out)
}

// facts are what the offline model finds in a posting.
type facts struct {
	title, location, text string // text: the whole posting, lower case
	salaryMin, salaryMax  *float64
	currency, period      string
	workModel, employment string
	skills, clouds        []string
	years                 *float64
	education             string
	genAI                 bool
}

var (
	postingBlock = regexp.MustCompile(`(?s)<job_posting id="\d+">\n(.*?)\n</job_posting>`)
	moneyRange   = regexp.MustCompile(`([$€£])\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?([kK])?\s*(?:-|–|to)\s*[$€£]?\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?([kK])?`)
	yearsPattern = regexp.MustCompile(`(\d{1,2})\+?\s*(?:years|yrs)`)
)

// offlineSkills are the keywords the offline model recognises, with display names.
var offlineSkills = []struct{ key, name string }{
	{"python", "Python"}, {"sql", "SQL"}, {"spark", "Spark"}, {"airflow", "Airflow"}, {"dbt", "dbt"},
	{"kafka", "Kafka"}, {"snowflake", "Snowflake"}, {"databricks", "Databricks"}, {"scala", "Scala"},
	{"java", "Java"}, {"tableau", "Tableau"}, {"power bi", "Power BI"}, {"terraform", "Terraform"},
	{"docker", "Docker"}, {"kubernetes", "Kubernetes"}, {"redshift", "Redshift"}, {"bigquery", "BigQuery"},
}

var offlineClouds = []struct{ key, cloud string }{
	{"aws", "aws"}, {"amazon web services", "aws"}, {"azure", "azure"}, {"gcp", "gcp"}, {"google cloud", "gcp"}, {"bigquery", "gcp"},
}

func readPosting(user string) facts {
	var f facts
	body := user
	if m := postingBlock.FindStringSubmatch(user); m != nil {
		body = m[1]
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "Title: "); ok {
			f.title = v
		} else if v, ok := strings.CutPrefix(l, "Location: "); ok {
			f.location = v
		}
	}
	f.text = strings.ToLower(body)
	if m := moneyRange.FindStringSubmatch(body); m != nil {
		lo, hi := money(m[2], m[3]), money(m[4], m[5])
		f.salaryMin, f.salaryMax = &lo, &hi
		f.currency = map[string]string{"$": "USD", "€": "EUR", "£": "GBP"}[m[1]]
		f.period = "yearly"
		if hi < 1000 {
			f.period = "hourly"
		}
	}
	f.workModel = firstKeyword(f.text, "not_mentioned", "remote", "remote", "hybrid", "hybrid", "on-site", "onsite", "onsite", "onsite")
	f.employment = firstKeyword(f.text, "not_mentioned", "full-time", "full_time", "full time", "full_time", "part-time", "part_time", "contract", "contract", "internship", "internship")
	for _, s := range offlineSkills {
		if hasWord(f.text, s.key) {
			f.skills = append(f.skills, s.name)
		}
	}
	for _, c := range offlineClouds {
		if hasWord(f.text, c.key) && !slices.Contains(f.clouds, c.cloud) {
			f.clouds = append(f.clouds, c.cloud)
		}
	}
	if m := yearsPattern.FindStringSubmatch(f.text); m != nil {
		y, _ := strconv.ParseFloat(m[1], 64)
		f.years = &y
	}
	f.education = firstKeyword(f.text, "", "phd", "PHD", "master", "MASTERS", "bachelor", "BACHELORS")
	for _, k := range []string{"llm", "genai", "generative ai", "gpt", "rag"} {
		f.genAI = f.genAI || hasWord(f.text, k)
	}
	return f
}

func money(num, k string) float64 {
	v, _ := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
	if k != "" {
		v *= 1000
	}
	return v
}

// firstKeyword returns the value paired with the first keyword found in text, or def.
// pairs alternate keyword, value.
func firstKeyword(text, def string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Contains(text, pairs[i]) {
			return pairs[i+1]
		}
	}
	return def
}

// hasWord reports whether word occurs in text not as part of a longer word.
func hasWord(text, word string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWordByte(text[start-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		i = end
	}
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}

func (f facts) extraction() Extraction {
	var e Extraction
	c := &e.Compensation
	c.SalaryDisclosed = ptr(f.salaryMin != nil)
	if f.salaryMin != nil {
		c.SalaryCurrency, c.SalaryPeriod = ptr(f.currency), ptr(f.period)
		if f.period == "hourly" {
			c.HourlyRateMin, c.HourlyRateMax, c.HourlyRateCurrency = f.salaryMin, f.salaryMax, ptr(f.currency)
		} else {
			c.SalaryMin, c.SalaryMax = f.salaryMin, f.salaryMax
		}
	}
	e.WorkModel.WorkModelStated = ptr(f.workModel)
	e.WorkModel.EmploymentTypeStated = ptr(f.employment)
	if f.employment == "full_time" {
		e.ContractDetails.ContractType = ptr("permanent")
	}
	s := &e.Skills
	s.MustHaveHard, s.CloudProviders = f.skills, f.clouds
	s.YearsExperienceMin = f.years
	if f.education != "" {
		s.EducationLevel = ptr(f.education)
	}
	s.LLMGenAIMentioned, s.FeatureStoreMention = ptr(f.genAI), ptr(false)
	return e
}

func judge[T any](v T, confidence float64, source string) Inferred[T] {
	return Inferred[T]{Value: v, Confidence: &confidence, Evidence: ptr(offlineEvidence), Source: ptr(source)}
}

func (f facts) inference() Inference {
	var in Inference
	title := strings.ToLower(f.title)
	seniority := firstKeyword(title, "mid", "intern", "intern", "junior", "junior", "principal", "principal", "staff", "staff", "senior", "senior", "sr", "senior", "lead", "senior")
	family := firstKeyword(title, "data_engineer", "analytics engineer", "analytics_engineer", "machine learning", "ml_engineer", "ml engineer", "ml_engineer",
		"scientist", "data_scientist", "analyst", "data_analyst", "architect", "data_architect", "bi ", "bi_engineer")
	in.SeniorityAndRole.SeniorityLevel = judge(ptr(seniority), 0.6, "inferred")
	in.SeniorityAndRole.JobFamily = judge(ptr(family), 0.7, "inferred")
	cloud := "not_mentioned"
	switch len(f.clouds) {
	case 0:
	case 1:
		cloud = f.clouds[0]
	default:
		cloud = "multi"
	}
	in.StackAndCloud.PrimaryCloud = judge(ptr(cloud), 0.8, "previous_pass")
	in.StackAndCloud.SecondaryClouds = judge([]string{}, 0.8, "previous_pass")
	if f.workModel == "remote" {
		in.GeoAndWorkModel.RemoteRestriction = judge(ptr("same_country"), 0.5, "inferred")
	}
	in.CareerDevelopment.CareerTracksAvailable = judge([]string{}, 0.5, "inferred")
	return in
}

func (f facts) analysis() AnalysisResult {
	var a AnalysisResult
	n := float64(len(f.skills))
	a.Analysis.CompanyMaturity.DataMaturityScore = judge(ptr(3), 0.5, "inferred")
	a.Analysis.CompanyMaturity.DataMaturityLevel = judge(ptr("defined"), 0.5, "inferred")
	a.Analysis.CompanyMaturity.MaturitySignals = judge([]string{}, 0.5, "inferred")
	a.Analysis.RoleQuality.ScopeCreepScore = judge(ptr(min(n/10, 1)), 0.5, "inferred")
	a.Analysis.AIMLIntegration.MLToolsExpected = judge([]string{}, 0.5, "inferred")
	a.Analysis.TechCultureAsmt.TechCultureSignals = judge([]string{}, 0.5, "inferred")
	a.Analysis.TechCultureAsmt.DevPracticesMentioned = judge([]string{}, 0.5, "inferred")
	if f.genAI {
		a.Analysis.AIMLIntegration.AIIntegrationLevel = judge(ptr("genai_focus"), 0.7, "previous_pass")
	}
	s := &a.Summary
	s.StrengthCategories, s.StrengthDetails = []string{"data_focused_role"}, []string{"Offline model: the posting is a data role."}
	s.ConcernCategories, s.ConcernDetails = []string{}, []string{}
	if f.salaryMin != nil {
		s.StrengthCategories = append(s.StrengthCategories, "transparent_salary")
		s.StrengthDetails = append(s.StrengthDetails, "Offline model: the posting states a pay range.")
	} else {
		s.ConcernCategories = append(s.ConcernCategories, "salary_not_disclosed")
		s.ConcernDetails = append(s.ConcernDetails, "Offline model: no pay range found.")
	}
	if f.workModel == "remote" {
		s.StrengthCategories = append(s.StrengthCategories, "remote_friendly")
		s.StrengthDetails = append(s.StrengthDetails, "Offline model: the posting mentions remote work.")
	}
	s.BestFitCategories, s.BestFitDetails = []string{"data_generalists"}, []string{"Offline model: generic fit."}
	s.ProbeCategories, s.ProbeDetails = []string{"tech_stack_details", "team_size_composition"}, []string{"Offline model: ask about the stack.", "Offline model: ask about the team."}
	s.LeverageCategories, s.LeverageDetails = []string{}, []string{}
	s.OverallAssessment = ptr(fmt.Sprintf("Offline model assessment of %q in %s, derived from keywords (%d known skills found). Not a model judgement.", f.title, f.location, len(f.skills)))
	s.RecommendationScore, s.RecommendationConf = ptr(0.5), ptr(0.1)
	return a
}
