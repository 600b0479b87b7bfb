// Package tokenbench measures what one job costs in model tokens without calling a
// model: the input of each pass as enrich.BuildRequest builds it for the bundled sample
// postings, and the answer of each pass as real model answers re-encoded into our
// schema, counted with the o200k tokenizer, priced with the model table.
package tokenbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/functions/tokens"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// FlexDiscount is the assumed Flex-tier discount on the standard price. AWS documents
// Flex only as "discounted" (aws.amazon.com/bedrock/service-tiers) and the model table
// records standard prices only; 50 % is OpenAI's own Flex discount [uncertain: check
// the Bedrock pricing page].
const FlexDiscount = 0.5

// Goals per job at default settings (issue 14).
const (
	GoalInputTokens  = 6000
	GoalAnswerTokens = 3200
	GoalCostUSD      = 0.005
	GoalFlexCostUSD  = 0.0025
)

// Options say what to measure.
type Options struct {
	Settings stacks.Settings // models and reasoning efforts per pass
	Jobs     int             // sample postings
	Seed     uint64
	Fixtures string // directory with labels.tsv and <job>/<file> raw answers
}

// Pass is the measurement of one pass, in o200k tokens per job.
type Pass struct {
	Pass            contract.Pass `json:"pass"`
	Model           string        `json:"model"`
	ReasoningEffort string        `json:"reasoning_effort"`
	InputMean       float64       `json:"input_mean"`
	InputMax        int           `json:"input_max"`
	SchemaTokens    int           `json:"schema_tokens"` // outputConfig schema, 0 without structured output
	Answers         int           `json:"answers"`       // real answers measured
	AnswerMean      float64       `json:"answer_mean"`
	AnswerMax       int           `json:"answer_max"`
	ReasoningAssume int           `json:"reasoning_assumed"`
	MaxTokens       int           `json:"max_tokens"`
	RetryMaxTokens  int           `json:"retry_max_tokens"`
	CostUSD         float64       `json:"cost_usd"` // standard tier, mean input + answer + reasoning
}

// Report is the whole measurement.
type Report struct {
	Jobs            int     `json:"jobs"`
	Fixtures        string  `json:"fixtures"`
	Passes          []Pass  `json:"passes"`
	InputTokens     float64 `json:"input_tokens_per_job"`
	SchemaTokens    int     `json:"schema_tokens_per_job"`
	AnswerTokens    float64 `json:"answer_tokens_per_job"`
	ReasoningTokens int     `json:"reasoning_tokens_per_job"`
	CostUSD         float64 `json:"cost_usd_per_job"`
	FlexCostUSD     float64 `json:"flex_cost_usd_per_job"`
	// SchemaBilledCostUSD is the cost if Bedrock billed the schema as input tokens
	// (not documented either way).
	SchemaBilledCostUSD float64 `json:"cost_usd_per_job_if_schema_billed"`
}

// Run measures the passes of opts.Settings.
func Run(opts Options) (Report, error) {
	postings, err := Postings(opts.Jobs, opts.Seed)
	if err != nil {
		return Report{}, err
	}
	answers, err := Answers(opts.Fixtures)
	if err != nil {
		return Report{}, err
	}
	r := Report{Jobs: len(postings), Fixtures: opts.Fixtures}
	models, efforts := opts.Settings.Models(), opts.Settings.ReasoningEfforts()
	for i, pass := range contract.Passes {
		p, err := measure(pass, models[i], efforts[i], postings, answers)
		if err != nil {
			return Report{}, err
		}
		r.Passes = append(r.Passes, p)
		r.InputTokens += p.InputMean
		r.SchemaTokens += p.SchemaTokens
		r.AnswerTokens += p.AnswerMean
		r.ReasoningTokens += p.ReasoningAssume
		r.CostUSD += p.CostUSD
		price, _ := llm.Price(p.Model)
		r.SchemaBilledCostUSD += p.CostUSD + float64(p.SchemaTokens)*price.InputPerMillion/1e6
	}
	r.FlexCostUSD = r.CostUSD * (1 - FlexDiscount)
	return r, nil
}

func measure(pass contract.Pass, model, effort string, postings []contract.Posting, answers map[contract.Pass][]json.RawMessage) (Pass, error) {
	if len(answers[pass]) == 0 {
		return Pass{}, fmt.Errorf("no usable %s answer among the fixtures", pass)
	}
	p := Pass{Pass: pass, Model: model, ReasoningEffort: effort, Answers: len(answers[pass])}
	target := enrichpartition.TargetFor(model, effort)
	total := 0
	for i, posting := range postings {
		// The earlier results are real answers (cycled), so pass2 and pass3 inputs
		// carry results of realistic size.
		prev := map[contract.Pass]json.RawMessage{}
		for _, earlier := range contract.Passes {
			if earlier == pass {
				break
			}
			prev[earlier] = answers[earlier][i%len(answers[earlier])]
		}
		req, err := enrich.BuildRequest(pass, posting, prev, target)
		if err != nil {
			return Pass{}, fmt.Errorf("%s request for job %s: %w", pass, posting.JobPostingID, err)
		}
		n, err := InputTokens(req)
		if err != nil {
			return Pass{}, err
		}
		total += n
		p.InputMax = max(p.InputMax, n)
		if i == 0 {
			p.MaxTokens, p.RetryMaxTokens = req.MaxTokens, req.RetryMaxTokens
			if p.SchemaTokens, err = tokens.Count(string(req.Schema)); err != nil {
				return Pass{}, err
			}
		}
	}
	p.InputMean = float64(total) / float64(len(postings))
	total = 0
	for _, a := range answers[pass] {
		n, err := tokens.Count(string(a))
		if err != nil {
			return Pass{}, err
		}
		total += n
		p.AnswerMax = max(p.AnswerMax, n)
	}
	p.AnswerMean = float64(total) / float64(len(answers[pass]))
	p.ReasoningAssume = enrich.ExpectedReasoningTokens(effort)
	price, known := llm.Price(model)
	if !known {
		return Pass{}, fmt.Errorf("%s: no price recorded for model %s", pass, model)
	}
	p.CostUSD = (p.InputMean*price.InputPerMillion + (p.AnswerMean+float64(p.ReasoningAssume))*price.OutputPerMillion) / 1e6
	return p, nil
}

// InputTokens counts the text a request sends: the system prompt and every message.
// The schema is counted apart (Pass.SchemaTokens); the chat template adds a few tokens
// per message that are not counted.
func InputTokens(req enrich.Request) (int, error) {
	total := 0
	for _, text := range append([]string{req.System}, messageTexts(req)...) {
		n, err := tokens.Count(text)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func messageTexts(req enrich.Request) []string {
	out := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		out[i] = m.Text
	}
	return out
}

// Postings are the bundled sample postings as discovery reads them: generated rows
// written as a Spark-like parquet file and read back by silver.Read.
func Postings(n int, seed uint64) ([]contract.Posting, error) {
	g := sample.NewGenerator(seed)
	scraped := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	rows := make([]sample.Row, n)
	for i := range rows {
		rows[i] = g.Row(scraped)
	}
	var buf bytes.Buffer
	if err := sample.Write(&buf, rows, n); err != nil {
		return nil, fmt.Errorf("sample postings: %w", err)
	}
	var out []contract.Posting
	_, err := silver.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "sample.parquet", func(p contract.Posting) error {
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sample postings: %w", err)
	}
	return out, nil
}

// Answers reads the fixture answers labelled ok and returns each pass's usable
// results re-encoded into our schema (the validator's minified document, evidence
// only where the schema keeps it): what a model following our format would write.
func Answers(dir string) (map[contract.Pass][]json.RawMessage, error) {
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		return nil, fmt.Errorf("fixture answers: %w", err)
	}
	defer f.Close()
	out := map[contract.Pass][]json.RawMessage{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 || cols[2] != "ok" {
			continue
		}
		pass, err := contract.ParsePass(cols[1][:min(5, len(cols[1]))])
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, cols[0], cols[1]))
		if err != nil {
			return nil, fmt.Errorf("fixture answers: %w", err)
		}
		if p := enrich.Parse(pass, string(raw)); p.Usable() {
			out[pass] = append(out[pass], p.Result)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fixture answers: %w", err)
	}
	return out, nil
}

// DefaultFixtures is the shared collection when present (from the functions
// directory), otherwise the project's own copy of a few answers.
func DefaultFixtures() string {
	for _, dir := range []string{"../../shared/fixtures/model-responses", "enrich/testdata"} {
		if _, err := os.Stat(filepath.Join(dir, "labels.tsv")); err == nil {
			return dir
		}
	}
	return "enrich/testdata"
}

// Goals reports each goal of issue 14 against the report, in order.
func (r Report) Goals() []Goal {
	return []Goal{
		{"input tokens per job", r.InputTokens, GoalInputTokens},
		{"answer tokens per job (without reasoning)", r.AnswerTokens, GoalAnswerTokens},
		{"cost per job, standard tier (USD)", r.CostUSD, GoalCostUSD},
		{"cost per job, flex tier (USD)", r.FlexCostUSD, GoalFlexCostUSD},
	}
}

// Goal is one target: met when Value ≤ Limit.
type Goal struct {
	Name         string
	Value, Limit float64
}

// Met reports whether the goal holds.
func (g Goal) Met() bool { return g.Value <= g.Limit }
