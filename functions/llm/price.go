package llm

import (
	"regexp"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// ModelPrice is the on-demand, standard-tier price of a model in USD per million tokens.
type ModelPrice struct {
	InputPerMillion  float64
	OutputPerMillion float64
}

// prices is keyed by the base model id: no inference-profile prefix, no version suffix.
//
// Sources (USD per 1M tokens, on-demand, standard tier, us-east-1; check the Bedrock
// pricing page for other Regions and tiers):
//   - gpt-oss-120b: reference/aws-facts.md §2 and the original system's own docs
//     ($0.15/$0.60). The original code billed output at $0.30 (inventory §12 W8).
//   - mistral-large-3, qwen3-vl, minimax-m2, gemma-3-27b: the original system's model
//     evaluation docs (inventory §5.4); mistral-large-3 is marked uncertain in aws-facts.
//   - gpt-oss-20b, Claude and Nova: the Bedrock pricing page as published for us-east-1.
var prices = map[string]ModelPrice{
	"openai.gpt-oss-120b":                   {0.15, 0.60},
	"openai.gpt-oss-20b":                    {0.07, 0.30},
	"mistral.mistral-large-3-675b-instruct": {2.00, 6.00},
	"qwen.qwen3-vl-235b-a22b":               {0.22, 0.88},
	"minimax.minimax-m2":                    {0.30, 1.20},
	"google.gemma-3-27b-it":                 {0.23, 0.38},
	"anthropic.claude-3-haiku":              {0.25, 1.25},
	"anthropic.claude-3-5-haiku":            {0.80, 4.00},
	"anthropic.claude-haiku-4-5":            {1.00, 5.00},
	"anthropic.claude-3-sonnet":             {3.00, 15.00},
	"anthropic.claude-3-7-sonnet":           {3.00, 15.00},
	"anthropic.claude-sonnet-4":             {3.00, 15.00},
	"anthropic.claude-sonnet-4-5":           {3.00, 15.00},
	"anthropic.claude-opus-4-5":             {5.00, 25.00},
	"amazon.nova-micro":                     {0.035, 0.14},
	"amazon.nova-lite":                      {0.06, 0.24},
	"amazon.nova-pro":                       {0.80, 3.20},
	"amazon.nova-premier":                   {2.50, 12.50},
}

// versionSuffix matches what Bedrock appends to a base model id: a release date
// (-20240307), a version (-v1), a revision (-1) and a ':'-qualifier (:0, :200k).
var versionSuffix = regexp.MustCompile(`(-\d{8})?(-v\d+)?(-\d+)?(:.*)?$`)

// BaseModelID strips the inference-profile prefix and the version suffix, so
// us.anthropic.claude-3-haiku-20240307-v1:0 becomes anthropic.claude-3-haiku.
func BaseModelID(modelID string) string {
	id := contract.StripProfilePrefix(modelID)
	loc := versionSuffix.FindStringIndex(id)
	return id[:loc[0]]
}

// Price looks up a model's price. Unknown models report false rather than a made-up
// default, so a cost of zero is never silently recorded as real.
func Price(modelID string) (ModelPrice, bool) {
	p, ok := prices[BaseModelID(modelID)]
	return p, ok
}

// Cost is the USD cost of one call; known is false when the model has no price.
func Cost(modelID string, t contract.Tokens) (usd float64, known bool) {
	p, ok := Price(modelID)
	if !ok {
		return 0, false
	}
	return (float64(t.Input)*p.InputPerMillion + float64(t.Output)*p.OutputPerMillion) / 1e6, true
}
