// Package enrichpartition is the EnrichPartition Lambda: one job, one pass per call.
// It serves the pass from the Bronze cache when it can, otherwise asks the model,
// parses and validates the answer (retrying once when the answer is truncated or not
// JSON), and stores the raw text and the JSON document in Bronze.
package enrichpartition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Handler runs passes. It is safe for concurrent use; its breakers live as long as the
// Lambda container.
type Handler struct {
	opts    Options
	store   *bronze.Store
	claims  *status.Store // nil: no claim check
	model   *llm.Client
	log     *slog.Logger
	metrics *metrics.Emitter
	now     func() time.Time
}

// New builds a handler. storage configures the S3 client and model the Bedrock client;
// in Lambda both are the same configuration, locally Bedrock may be the real one.
func New(storage, model aws.Config, opts Options, log *slog.Logger, m *metrics.Emitter) (*Handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	rt := llm.NewRuntime(model, llm.RuntimeOptions{ReadTimeout: opts.ModelReadTimeout})
	var claims *status.Store
	if opts.StatusTable != "" {
		claims = status.New(dynamodb.NewFromConfig(storage), opts.StatusTable)
	}
	return &Handler{
		opts:   opts,
		claims: claims,
		store:  bronze.New(s3.NewFromConfig(storage), opts.BronzeBucket),
		model: llm.New(rt, llm.Options{Breaker: llm.BreakerSettings{
			Failures: opts.BreakerFailures, Cooldown: opts.BreakerCooldown,
		}}),
		log:     log,
		metrics: m,
		now:     time.Now,
	}, nil
}

var executionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,80}$`)

// validate checks every identifier before it touches a key, a prompt or a log line:
// the posting and previous results must be this job's own Bronze objects.
func validate(in contract.PassInput) error {
	bad := func(format string, a ...any) error {
		return &contract.Error{Name: contract.ErrNameInvalidInput, Message: fmt.Sprintf(format, a...)}
	}
	if !in.PassName.Valid() {
		return bad("unknown pass_name %q", in.PassName)
	}
	id := in.JobData.JobPostingID
	if err := contract.ValidateJobID(id); err != nil {
		return bad("%v", err)
	}
	if in.JobData.PostingKey != contract.PostingKey(id) {
		return bad("posting_key %q is not %q", in.JobData.PostingKey, contract.PostingKey(id))
	}
	if !executionIDPattern.MatchString(in.ExecutionID) {
		return bad("execution_id %q: want up to 80 letters, digits, '-' or '_'", in.ExecutionID)
	}
	for _, p := range contract.Passes {
		if p == in.PassName {
			break
		}
		key := in.Previous[p]
		prefix := contract.BronzePrefix + id + "/" + string(p) + "-"
		if !strings.HasPrefix(key, prefix) || !strings.HasSuffix(key, ".json") || strings.Contains(key[len(prefix):], "/") {
			return bad("previous %s result %q is not a %s document of job %s", p, key, p, id)
		}
	}
	return nil
}

// Handle runs one pass of one job.
func (h *Handler) Handle(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
	if err := validate(in); err != nil {
		h.log.ErrorContext(ctx, "rejected pass input", "error", err.Error())
		return contract.PassOutput{}, err
	}
	started := h.now()
	id, pass := in.JobData.JobPostingID, in.PassName
	modelID := h.opts.Models[pass]
	key := contract.BronzeKey(id, pass, modelID)
	log := h.log.With("job_posting_id", id, "pass", string(pass), "model_id", modelID, "execution_id", in.ExecutionID)

	existing, found, err := h.store.Get(ctx, key)
	if err != nil {
		return contract.PassOutput{}, storageErr(err)
	}
	// A forced run still takes what its own execution stored: a retry after a lost
	// acknowledgement must not pay the model again.
	if found && (!in.Force || in.ExecutionID != "" && existing.Doc.Metadata.ExecutionID == in.ExecutionID) &&
		h.reusable(existing.Doc.Metadata.PromptVersion, existing.Doc.Metadata.ModelID, existing.Doc.Metadata.AnswerSource, pass, modelID) {
		log.InfoContext(ctx, "served from cache", "bronze_key", key)
		h.emit(pass, modelID, existing.Doc.Metadata, true, 0, llm.Attempts{}, nil)
		return output(existing.Doc, key, true), nil
	}
	replace := ""
	if found {
		replace = existing.ETag
	}

	posting, err := h.store.GetPosting(ctx, in.JobData.PostingKey)
	if err != nil {
		return contract.PassOutput{}, storageErr(err)
	}
	if posting.JobPostingID != id {
		return contract.PassOutput{}, &contract.Error{Name: contract.ErrNameInvalidInput,
			Message: fmt.Sprintf("posting at %s belongs to job %q", in.JobData.PostingKey, posting.JobPostingID)}
	}
	previous, err := h.previous(ctx, in)
	if err != nil {
		return contract.PassOutput{}, err
	}
	req, err := enrich.BuildRequest(pass, posting, previous, TargetFor(modelID, h.opts.ReasoningEfforts[pass]))
	if err != nil {
		return contract.PassOutput{}, &contract.Error{Name: contract.ErrNameInvalidInput, Message: err.Error()}
	}

	if err := h.holdsClaim(ctx, id, in.ExecutionID); err != nil {
		return contract.PassOutput{}, err
	}
	rawKey := contract.BronzeRawKey(id, pass, modelID)
	run, paid, err := h.storedAnswer(ctx, in, rawKey, modelID)
	if err != nil {
		return contract.PassOutput{}, err
	}
	if paid {
		log.InfoContext(ctx, "reusing the raw answer this execution stored", "raw_key", rawKey)
	} else {
		run, err = Ask(ctx, h.model, modelID, h.opts.ServiceTier, req)
	}
	meta := bronze.Metadata{
		JobPostingID: id, Pass: pass, Section: pass.Section(), ModelID: modelID, AnswerSource: answerSource(run.Answer),
		PromptVersion: req.PromptVersion, ExecutionID: in.ExecutionID, Partition: in.JobData.Partition,
		JobTitle: posting.JobTitle, CompanyName: posting.CompanyName, JobLocation: posting.JobLocation,
		Tokens: run.Tokens, ModelCalls: run.Calls, StopReason: run.Answer.StopReason, ParseStatus: run.Parsed.Status,
		StartedAt: started.UTC().Format(time.RFC3339Nano), ModelLatencyMs: run.Latency.Milliseconds(),
	}
	meta.CostUSD, meta.CostKnown = llm.Cost(modelID, run.Tokens)
	if !paid && (run.Answer.Text != "" || run.Answer.Reasoning != "") {
		// The raw answer is kept even when the pass fails, so nothing the model said is lost.
		raw := bronze.Raw{
			Reasoning: run.Answer.Reasoning, Text: run.Answer.Text, ExecutionID: in.ExecutionID,
			PromptVersion: req.PromptVersion, ModelID: modelID, AnswerSource: meta.AnswerSource, StopReason: run.Answer.StopReason,
			Tokens: run.Tokens, ModelCalls: run.Calls, ModelLatencyMs: meta.ModelLatencyMs,
		}
		if perr := h.store.PutRaw(ctx, rawKey, raw); perr != nil {
			return contract.PassOutput{}, storageErr(perr)
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "pass failed", "error", err.Error(), "parse_status", run.Parsed.Status, "model_calls", run.Calls)
		h.emit(pass, modelID, meta, false, 0, run.Attempts, err)
		return contract.PassOutput{}, err
	}

	doc := bronze.Document{Metadata: meta, Result: run.Parsed.Result, Issues: issues(run.Parsed)}
	doc.Metadata.FinishedAt = h.now().UTC().Format(time.RFC3339Nano)
	doc.Metadata.TotalMs = h.now().Sub(started).Milliseconds()
	if err := h.holdsClaim(ctx, id, in.ExecutionID); err != nil {
		return contract.PassOutput{}, err
	}
	if err := h.store.PutDocument(ctx, key, doc, replace); err != nil {
		if errors.Is(err, bronze.ErrConflict) {
			// Another execution stored this pass meanwhile: keep its result, not ours.
			if winner, ok, gerr := h.store.Get(ctx, key); gerr == nil && ok {
				log.WarnContext(ctx, "lost a concurrent write; using the stored result", "bronze_key", key)
				return output(winner.Doc, key, true), nil
			}
		}
		return contract.PassOutput{}, storageErr(err)
	}
	log.InfoContext(ctx, "pass stored", "bronze_key", key, "parse_status", run.Parsed.Status,
		"input_tokens", run.Tokens.Input, "output_tokens", run.Tokens.Output, "cost_usd", meta.CostUSD, "issues", len(doc.Issues))
	h.emit(pass, modelID, doc.Metadata, false, len(doc.Issues), run.Attempts, nil)
	return output(doc, key, false), nil
}

// reusable reports whether a stored answer may stand for this pass: same prompt
// version, same model (or its inference profile), and from Bedrock unless the handler
// accepts the emulator's answers.
func (h *Handler) reusable(promptVersion, model, source string, pass contract.Pass, modelID string) bool {
	return promptVersion == enrich.PromptVersion(pass) && contract.SameModel(model, modelID) &&
		(h.opts.AcceptEmulated || bronze.Metadata{AnswerSource: source}.FromBedrock())
}

// storedAnswer returns the usable answer an earlier attempt of this execution paid for
// and stored raw but did not commit (its JSON write failed, or it died before it): a
// Step Functions retry parses it again instead of paying the model twice. paid is
// false when there is none to reuse.
func (h *Handler) storedAnswer(ctx context.Context, in contract.PassInput, rawKey, modelID string) (o Outcome, paid bool, err error) {
	if in.ExecutionID == "" {
		return Outcome{}, false, nil
	}
	raw, found, err := h.store.GetRaw(ctx, rawKey)
	if err != nil {
		return Outcome{}, false, storageErr(err)
	}
	if !found || raw.ExecutionID != in.ExecutionID || !h.reusable(raw.PromptVersion, raw.ModelID, raw.AnswerSource, in.PassName, modelID) {
		return Outcome{}, false, nil
	}
	o = Outcome{
		Answer: llm.Answer{ModelID: raw.ModelID, Text: raw.Text, Reasoning: raw.Reasoning, StopReason: raw.StopReason},
		Parsed: enrich.Parse(in.PassName, raw.Text), Tokens: raw.Tokens,
		Latency: time.Duration(raw.ModelLatencyMs) * time.Millisecond, Calls: raw.ModelCalls,
	}
	if raw.AnswerSource != bronze.SourceBedrock {
		o.Answer.Emulated = raw.AnswerSource
	}
	return o, o.Parsed.Usable(), nil
}

// previous loads the results of the earlier passes this pass builds on.
func (h *Handler) previous(ctx context.Context, in contract.PassInput) (map[contract.Pass]json.RawMessage, error) {
	out := map[contract.Pass]json.RawMessage{}
	for _, p := range contract.Passes {
		if p == in.PassName {
			break
		}
		c, found, err := h.store.Get(ctx, in.Previous[p])
		if err != nil {
			return nil, storageErr(err)
		}
		if !found {
			return nil, &contract.Error{Name: contract.ErrNamePreviousMissing, Message: fmt.Sprintf("previous %s result %s does not exist", p, in.Previous[p])}
		}
		out[p] = c.Doc.Result
	}
	return out, nil
}

// answerSource names who answered, as the Bronze metadata records it.
func answerSource(a llm.Answer) string {
	if a.Emulated != "" {
		return a.Emulated
	}
	return bronze.SourceBedrock
}

// holdsClaim fails with ClaimLost unless execution still holds the job's claim: after
// an abort or a timeout, cleanup frees claim and slot while this invocation may still
// run, and a retry must not find the same pass called or written twice.
func (h *Handler) holdsClaim(ctx context.Context, id, execution string) error {
	if h.claims == nil {
		return nil
	}
	j, err := h.claims.Get(ctx, id)
	if err != nil && !errors.Is(err, status.ErrNotFound) {
		return storageErr(err)
	}
	if j.Execution != execution {
		return &contract.Error{Name: contract.ErrNameClaimLost,
			Message: fmt.Sprintf("job %s is claimed by %q, not by execution %s", id, j.Execution, execution)}
	}
	return nil
}

func storageErr(err error) error {
	return &contract.Error{Name: contract.ErrNameStorage, Message: err.Error()}
}

func issues(p enrich.Parsed) []bronze.Issue {
	out := make([]bronze.Issue, len(p.Issues))
	for i, is := range p.Issues {
		out[i] = bronze.Issue{Field: is.Field, Problem: is.Problem}
	}
	return out
}

func output(doc bronze.Document, key string, cached bool) contract.PassOutput {
	m := doc.Metadata
	return contract.PassOutput{
		StatusCode: 200, Success: true, Section: m.Section, ModelID: m.ModelID,
		Tokens: m.Tokens, CostUSD: m.CostUSD, CostKnown: m.CostKnown, Cached: cached, BronzeKey: key,
		ParseStatus: m.ParseStatus, Issues: len(doc.Issues),
	}
}

// emit writes the pass's EMF metrics: tokens and cost count only when the model was
// called, so dashboards add up real spend. ModelCalls and ModelThrottles count HTTP
// attempts (SDK retries included), so their ratio is the throttled share. A model
// without a price emits CostUnknown instead of a CostUSD of 0.
func (h *Handler) emit(pass contract.Pass, modelID string, m bronze.Metadata, cached bool, nIssues int, attempts llm.Attempts, failure error) {
	ms := []metrics.Metric{{Name: "CacheHit", Value: 0, Unit: metrics.Count}}
	status := m.ParseStatus
	switch {
	case cached:
		ms[0].Value, status = 1, "cached"
	default:
		cost := metrics.Metric{Name: "CostUSD", Value: m.CostUSD, Unit: metrics.None}
		if !m.CostKnown {
			cost = metrics.Metric{Name: "CostUnknown", Value: 1, Unit: metrics.Count}
		}
		ms = append(ms,
			metrics.Metric{Name: "InputTokens", Value: float64(m.Tokens.Input), Unit: metrics.Count},
			metrics.Metric{Name: "OutputTokens", Value: float64(m.Tokens.Output), Unit: metrics.Count},
			cost,
			metrics.Metric{Name: "ModelLatencyMs", Value: float64(m.ModelLatencyMs), Unit: metrics.Milliseconds},
			metrics.Metric{Name: contract.MetricModelCalls, Value: float64(attempts.Total), Unit: metrics.Count},
			metrics.Metric{Name: contract.MetricModelThrottles, Value: float64(attempts.Throttled), Unit: metrics.Count},
			metrics.Metric{Name: "ValidationIssues", Value: float64(nIssues), Unit: metrics.Count},
		)
	}
	var ce *contract.Error
	if errors.As(failure, &ce) {
		status = ce.Name
	}
	if status == "" {
		status = "none"
	}
	dims := map[string]string{"Stack": h.opts.Stack, "Pass": string(pass), "ParseStatus": status}
	if err := h.metrics.Emit(dims, map[string]any{"job_posting_id": m.JobPostingID, "model_id": modelID, "execution_id": m.ExecutionID}, ms...); err != nil {
		h.log.Warn("metrics not written", "error", err.Error())
	}
}
