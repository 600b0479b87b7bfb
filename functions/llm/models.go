package llm

import (
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// capabilities are the per-family request differences the Converse API does not hide.
type capabilities struct {
	// structuredOutput: the model accepts outputConfig.textFormat (JSON schema).
	structuredOutput bool
	// reasoningEffortField names the additionalModelRequestFields key that sets the
	// reasoning effort, "" when the family has none.
	reasoningEffortField string
}

// families is matched by prefix on the model id without its inference-profile prefix.
// Structured output is enabled only where it is documented or verified (aws-facts §2:
// Claude 4.5 and later, OpenAI gpt-oss). AWS lists "select" Qwen, Mistral, Gemma and
// MiniMax models too, without naming them: those get the schema in the prompt only
// until verified. Families not listed (mistral, gemma, qwen, minimax, nova, older
// Claude) need no request quirks.
var families = []struct {
	prefix string
	caps   capabilities
}{
	{"openai.gpt-oss", capabilities{structuredOutput: true, reasoningEffortField: "reasoning_effort"}},
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
