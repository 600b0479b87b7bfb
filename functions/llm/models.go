package llm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// capabilities are the per-family request differences the Converse API does not hide.
type capabilities struct {
	// structuredOutput: the model accepts outputConfig.textFormat (JSON schema).
	structuredOutput bool
	// reasoning renders a reasoning effort as the family's additionalModelRequestFields;
	// nil when the family takes no effort.
	reasoning func(effort string) map[string]any
	// maxOutputTokens is the largest maxTokens the model accepts (0: not recorded).
	maxOutputTokens int
}

// ReasoningEfforts are the efforts a Call may ask for.
var ReasoningEfforts = []string{"low", "medium", "high"}

// gptOSSEffort: the OpenAI request field, which Bedrock's Converse takes in
// additionalModelRequestFields ("OpenAI models", Bedrock user guide:
// https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-openai.html).
func gptOSSEffort(effort string) map[string]any { return map[string]any{"reasoning_effort": effort} }

// novaEffort: Nova 2 turns extended thinking on with a maximum effort ("Extended
// thinking in Amazon Nova 2": https://docs.aws.amazon.com/nova/latest/nova2-userguide/extended-thinking.html).
func novaEffort(effort string) map[string]any {
	return map[string]any{"reasoningConfig": map[string]any{"type": "enabled", "maxReasoningEffort": effort}}
}

// families is matched by prefix on the model id without its inference-profile prefix.
// Structured output is enabled only where it is documented or verified (aws-facts §2:
// Claude 4.5 and later, OpenAI gpt-oss). AWS lists "select" Qwen, Mistral, Gemma and
// MiniMax models too, without naming them: those get the schema in the prompt only
// until verified. Families not listed (mistral, gemma, qwen, minimax, nova 1, older
// Claude) need no request quirks. Claude's extended thinking takes a token budget and
// no temperature, not an effort: it is not mapped.
// gpt-oss output limit: 16,384 tokens, AWS's gpt-oss model cards as reported in
// anomalyco/models.dev#6792 [reported; the per-model table replaces this].
var families = []struct {
	prefix string
	caps   capabilities
}{
	{"openai.gpt-oss", capabilities{structuredOutput: true, reasoning: gptOSSEffort, maxOutputTokens: 16384}},
	{"amazon.nova-2", capabilities{reasoning: novaEffort}},
	{"anthropic.claude-haiku-4-5", capabilities{structuredOutput: true}},
	{"anthropic.claude-sonnet-4-5", capabilities{structuredOutput: true}},
	{"anthropic.claude-opus-4-5", capabilities{structuredOutput: true}},
	{"anthropic.claude-opus-4-6", capabilities{structuredOutput: true}},
}

func capabilitiesOf(modelID string) capabilities {
	id := contract.StripProfilePrefix(modelID)
	for _, f := range families {
		if strings.HasPrefix(id, f.prefix) {
			return f.caps
		}
	}
	return capabilities{}
}

// StructuredOutput reports whether the model takes a JSON schema as its output format.
func StructuredOutput(modelID string) bool { return capabilitiesOf(modelID).structuredOutput }

// MaxOutputTokens is the model's output limit, 0 when not recorded.
func MaxOutputTokens(modelID string) int { return capabilitiesOf(modelID).maxOutputTokens }

// CheckReasoningEffort refuses an effort the model cannot take: an unknown value, or
// any value for a family without a reasoning effort. "" (send none) is always valid.
func CheckReasoningEffort(modelID, effort string) error {
	switch {
	case effort == "":
		return nil
	case !slices.Contains(ReasoningEfforts, effort):
		return fmt.Errorf("reasoning effort %q: want low, medium or high (or none)", effort)
	case capabilitiesOf(modelID).reasoning == nil:
		return fmt.Errorf("model %s takes no reasoning effort (only gpt-oss and Nova 2 do): send none", modelID)
	}
	return nil
}
