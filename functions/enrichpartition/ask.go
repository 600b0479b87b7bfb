package enrichpartition

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/llm"
)

// temperature is low: the passes extract and classify, they do not create.
const temperature = 0.1

// Outcome is what asking the model for one pass produced, over every call made.
type Outcome struct {
	Answer  llm.Answer // the last answer
	Parsed  enrich.Parsed
	Tokens  contract.Tokens
	Latency time.Duration
	Calls   int
	// Attempts are the HTTP attempts of every call, SDK retries and throttles included.
	Attempts llm.Attempts
}

// TargetFor describes a model to enrich.BuildRequest: whether the prompt needs the
// answer template, and the output limit the token budgets must stay under.
func TargetFor(modelID, reasoningEffort string) enrich.Target {
	m, _ := llm.Lookup(modelID) // an unknown model: no structured output, no known limit
	return enrich.Target{
		StructuredOutput: m.StructuredOutput,
		ReasoningEffort:  reasoningEffort,
		MaxOutputTokens:  m.MaxOutputTokens,
	}
}

// CheckReasoningEffort refuses an effort the model cannot take, naming what it takes;
// "" (send none) is always valid.
func CheckReasoningEffort(modelID, effort string) error {
	if effort == "" {
		return nil
	}
	m, known := llm.Lookup(modelID)
	switch {
	case !known || m.ReasoningEffortField == "":
		return fmt.Errorf("model %s takes no reasoning effort: set it to \"\" (none)", modelID)
	case !m.AcceptsReasoningEffort(effort):
		return fmt.Errorf("reasoning effort %q: model %s takes %s, or \"\" (none)", effort, modelID, strings.Join(m.ReasoningEfforts, ", "))
	}
	return nil
}

// Call is the Converse call Ask makes for req (before any retry).
func Call(modelID, serviceTier string, req enrich.Request) llm.Call {
	msgs := make([]llm.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = llm.Message{Role: m.Role, Text: m.Text}
	}
	return llm.Call{
		ModelID: modelID, System: req.System, Messages: msgs, MaxTokens: req.MaxTokens,
		Temperature: temperature, Schema: req.Schema, ServiceTier: serviceTier, ReasoningEffort: req.ReasoningEffort,
	}
}

// Ask sends a pass request and parses the answer. A truncated, JSON-less (reasoning
// only included) or invalid answer gets exactly one more call, with a larger budget or
// a corrective message; what is still unusable then is a named error. The client's
// per-model circuit breaker fails fast when the model keeps failing.
func Ask(ctx context.Context, client *llm.Client, modelID, serviceTier string, req enrich.Request) (Outcome, error) {
	var o Outcome
	ctx, cancel, err := modelContext(ctx, time.Now())
	if err != nil {
		return o, err
	}
	defer cancel()
	for attempt := 0; attempt < 2; attempt++ {
		answer, err := client.Converse(ctx, Call(modelID, serviceTier, req))
		o.Attempts = o.Attempts.Add(answer.Attempts)
		if err != nil && !errors.Is(err, llm.ErrNoText) {
			return o, modelErr(ctx, err, llm.Kind(err), o.Calls)
		}
		o.Calls++
		o.Answer = answer
		o.Tokens.Input += answer.Usage.Input
		o.Tokens.Output += answer.Usage.Output
		o.Latency += answer.Latency
		o.Parsed = enrich.Parse(req.Pass, answer.Text)
		if answer.StopReason == "max_tokens" && !o.Parsed.Usable() {
			o.Parsed.Status = enrich.StatusTruncated
		}
		if o.Parsed.Usable() {
			return o, nil
		}
		req = enrich.Corrective(req, answer.Text, o.Parsed)
	}
	return o, failure(o)
}

func failure(o Outcome) error {
	name := contract.ErrNameInvalidOutput
	switch o.Parsed.Status {
	case enrich.StatusTruncated:
		name = contract.ErrNameTruncated
	case enrich.StatusNoJSON:
		name = contract.ErrNameNoJSON
	}
	return &contract.Error{Name: name, Message: fmt.Sprintf("answer still %s after %d model calls (stop reason %q)", o.Parsed.Status, o.Calls, o.Answer.StopReason)}
}
