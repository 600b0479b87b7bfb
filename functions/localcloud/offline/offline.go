// Package offline is the local cloud's stand-in for a model: it reads the posting in
// a user prompt built by enrich.BuildRequest and answers a pass with a schema-valid
// document (the types of enrich/schema.go) derived from the posting's text by keyword
// rules. Same prompt, same answer. It lives in the local cloud, not in production
// code; every answer says it comes from the offline model.
package offline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
)

// Label starts every offline judgement and free-text field, so nobody mistakes it
// for a model's.
const Label = "offline model"

const evidence = Label + ": keyword rule"

// Answer answers pass for the posting in userPrompt.
func Answer(pass contract.Pass, userPrompt string) string {
	f := read(userPrompt)
	var doc any
	switch pass {
	case contract.Pass1:
		doc = enrich.ExtractionResult{Extraction: f.extraction()}
	case contract.Pass2:
		doc = enrich.InferenceResult{Inference: f.inference()}
	default:
		doc = f.analysis()
	}
	out, err := json.Marshal(doc)
	if err != nil {
		// The result types hold only strings, numbers, booleans and lists: cannot happen.
		panic(fmt.Sprintf("offline: encode answer: %v", err))
	}
	return string(out)
}

func ptr[T any](v T) *T { return &v }

func (f facts) extraction() enrich.Extraction {
	var e enrich.Extraction
	c := &e.Compensation
	c.SalaryDisclosed = ptr(f.pay != nil)
	if p := f.pay; p != nil {
		c.SalaryPeriod = ptr(p.period)
		var cur *string
		if p.currency != "" {
			cur = ptr(p.currency)
		}
		if p.period == "hourly" {
			c.HourlyRateMin, c.HourlyRateMax, c.HourlyRateCurrency, c.HourlyRateTextRaw = ptr(p.min), ptr(p.max), cur, ptr(p.text)
			e.ContractorRates.PayType = ptr("hourly")
		} else {
			c.SalaryMin, c.SalaryMax, c.SalaryCurrency, c.SalaryTextRaw = ptr(p.min), ptr(p.max), cur, ptr(p.text)
			e.ContractorRates.PayType = ptr("salary")
		}
	}
	e.WorkAuthorization.VisaSponsorship = ptr(f.visa)
	if f.visaText != "" {
		e.WorkAuthorization.WorkAuthText = ptr(f.visaText)
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
	e.Context.CompanyDescriptionText = ptr(Label + ": facts found by keyword rules, no model read this posting")
	return e
}

func judge[T any](v T, confidence float64, source string) enrich.Inferred[T] {
	return enrich.Inferred[T]{Value: v, Confidence: &confidence, Evidence: ptr(evidence), Source: ptr(source)}
}

func (f facts) inference() enrich.Inference {
	var in enrich.Inference
	in.SeniorityAndRole.SeniorityLevel = judge(ptr(f.seniority), 0.6, "inferred")
	in.SeniorityAndRole.JobFamily = judge(ptr(f.family), 0.7, "inferred")
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
	switch f.visa {
	case "will_sponsor":
		in.VisaAndAuth.H1BFriendly = judge(ptr(true), 0.7, "previous_pass")
	case "will_not_sponsor", "must_be_authorized":
		in.VisaAndAuth.H1BFriendly = judge(ptr(false), 0.8, "previous_pass")
	}
	in.CareerDevelopment.CareerTracksAvailable = judge([]string{}, 0.5, "inferred")
	return in
}

func (f facts) analysis() enrich.AnalysisResult {
	var a enrich.AnalysisResult
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
	note := func(cats, details *[]string, cat, detail string) {
		*cats, *details = append(*cats, cat), append(*details, "Offline model: "+detail)
	}
	s.StrengthCategories, s.StrengthDetails = []string{}, []string{}
	s.ConcernCategories, s.ConcernDetails = []string{}, []string{}
	note(&s.StrengthCategories, &s.StrengthDetails, "data_focused_role", "the posting is a data role.")
	if f.pay != nil {
		note(&s.StrengthCategories, &s.StrengthDetails, "transparent_salary", "the posting states its pay ("+f.pay.text+").")
	} else {
		note(&s.ConcernCategories, &s.ConcernDetails, "salary_not_disclosed", "no pay found in the text.")
	}
	if f.workModel == "remote" {
		note(&s.StrengthCategories, &s.StrengthDetails, "remote_friendly", "the posting offers remote work.")
	}
	s.BestFitCategories, s.BestFitDetails = []string{"data_generalists"}, []string{"Offline model: generic fit."}
	s.ProbeCategories, s.ProbeDetails = []string{"tech_stack_details", "team_size_composition"}, []string{"Offline model: ask about the stack.", "Offline model: ask about the team."}
	s.LeverageCategories, s.LeverageDetails = []string{}, []string{}
	s.OverallAssessment = ptr(fmt.Sprintf("Offline model assessment of %q in %s, derived from keywords (%d known skills found: %s). Not a model judgement.",
		f.title, f.location, len(f.skills), strings.Join(f.skills, ", ")))
	s.RecommendationScore, s.RecommendationConf = ptr(0.5), ptr(0.1)
	return a
}
