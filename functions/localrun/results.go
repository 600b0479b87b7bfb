package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Result is what enrichment found for one job, for a newcomer to read: a few fields of
// pass1 and pass2 (docs/passes.md lists them all).
type Result struct {
	JobPostingID string   `json:"job_posting_id"`
	Title        string   `json:"title"`
	Location     string   `json:"location"`
	Salary       string   `json:"salary"` // "" when the posting states none
	WorkModel    string   `json:"work_model"`
	Seniority    string   `json:"seniority"`
	Skills       []string `json:"top_skills"`
	AnswerSource string   `json:"answer_source"` // bedrock, offline or replay
}

// cloudNames display pass1's cloud vocabulary.
var cloudNames = map[string]string{"aws": "AWS", "azure": "Azure", "gcp": "GCP", "oracle_cloud": "Oracle Cloud", "ibm_cloud": "IBM Cloud", "alibaba_cloud": "Alibaba Cloud"}

// topSkills is how many skills a result shows.
const topSkills = 3

// Results reads pass1 and pass2 of every completed job from Bronze, ordered by job id.
func Results(ctx context.Context, store *bronze.Store, jobs []status.Job) ([]Result, error) {
	out := make([]Result, 0, len(jobs))
	for _, j := range jobs {
		p1, p2 := j.Passes[contract.Pass1], j.Passes[contract.Pass2]
		if p1.BronzeKey == "" || p2.BronzeKey == "" {
			continue
		}
		var e enrich.ExtractionResult
		meta, err := readResult(ctx, store, p1.BronzeKey, &e)
		if err != nil {
			return nil, err
		}
		var in enrich.InferenceResult
		if _, err := readResult(ctx, store, p2.BronzeKey, &in); err != nil {
			return nil, err
		}
		x := e.Extraction
		skills := slices.Clone(x.Skills.MustHaveHard)
		for _, c := range x.Skills.CloudProviders {
			skills = append(skills, cloudNames[c])
		}
		out = append(out, Result{
			JobPostingID: j.ID, Title: meta.JobTitle, Location: meta.JobLocation,
			Salary: salary(x.Compensation), WorkModel: deref(x.WorkModel.WorkModelStated),
			Seniority: deref(in.Inference.SeniorityAndRole.SeniorityLevel.Value),
			Skills:    skills[:min(len(skills), topSkills)], AnswerSource: sourceOf(meta),
		})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].JobPostingID < out[b].JobPostingID })
	return out, nil
}

func readResult(ctx context.Context, store *bronze.Store, key string, v any) (bronze.Metadata, error) {
	c, found, err := store.Get(ctx, key)
	if err != nil {
		return bronze.Metadata{}, err
	}
	if !found {
		return bronze.Metadata{}, fmt.Errorf("result %s: not in Bronze", key)
	}
	if err := json.Unmarshal(c.Doc.Result, v); err != nil {
		return bronze.Metadata{}, fmt.Errorf("result %s: %w", key, err)
	}
	return c.Doc.Metadata, nil
}

func sourceOf(m bronze.Metadata) string {
	if m.FromBedrock() {
		return bronze.SourceBedrock
	}
	return m.AnswerSource
}

// salary renders pass1's compensation: "USD 152000-197600 yearly", "" when none.
func salary(c enrich.Compensation) string {
	if c.SalaryDisclosed == nil || !*c.SalaryDisclosed {
		return ""
	}
	lo, hi, cur := c.SalaryMin, c.SalaryMax, c.SalaryCurrency
	if c.HourlyRateMin != nil {
		lo, hi, cur = c.HourlyRateMin, c.HourlyRateMax, c.HourlyRateCurrency
	}
	amount := "?"
	switch {
	case lo != nil && hi != nil && *lo != *hi:
		amount = number(*lo) + "-" + number(*hi)
	case lo != nil:
		amount = "~" + number(*lo)
	case hi != nil:
		amount = "up to " + number(*hi)
	}
	return strings.Join(strings.Fields(deref(cur)+" "+amount+" "+deref(c.SalaryPeriod)), " ")
}

func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
