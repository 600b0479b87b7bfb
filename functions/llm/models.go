package llm

import (
	"slices"
	"strings"
)

// Model is what this project knows about one Bedrock model: the request differences
// the Converse API does not hide, its limits, where it is offered and its price. The
// client shapes requests from it, the Bedrock emulator validates requests against it,
// and the CLI's preflight and the token budgets read it. docs/bedrock.md cites the
// source of every row.
type Model struct {
	// ID is the base model id: no inference-profile prefix, no version suffix
	// (BaseModelID).
	ID string
	// StructuredOutput: the model accepts outputConfig.textFormat (JSON schema).
	StructuredOutput bool
	// ReasoningEffortField names the additionalModelRequestFields key that sets the
	// reasoning effort; "" when the model takes none.
	ReasoningEffortField string
	// ReasoningEfforts are the values that field accepts.
	ReasoningEfforts []string
	// ServiceTiers are the serviceTier.type values the model is offered with;
	// "default" (standard) is offered by every model.
	ServiceTiers []string
	// MaxOutputTokens is the largest maxTokens the model accepts; 0 when not recorded.
	MaxOutputTokens int
	// Regions where the model, or a cross-Region profile sourcing from there, is
	// offered; nil when not recorded (preflight must then ask Bedrock).
	Regions []string
	// Price is the on-demand standard-tier price; nil when not recorded, so a cost is
	// reported unknown rather than zero.
	Price *ModelPrice
}

// ModelPrice is the on-demand, standard-tier price of a model in USD per million tokens.
type ModelPrice struct {
	InputPerMillion  float64
	OutputPerMillion float64
}

// Service tiers (serviceTier.type); the SDK's types.ServiceTierType has the same values.
const (
	TierDefault  = "default"
	TierPriority = "priority"
	TierFlex     = "flex"
)

var (
	onlyDefault  = []string{TierDefault}
	allTiers     = []string{TierDefault, TierPriority, TierFlex}
	lowMedHigh   = []string{"low", "medium", "high"}
	gptOSSRegion = []string{
		"us-east-1", "us-east-2", "us-west-2", "ap-northeast-1", "ap-south-1", "ap-southeast-3",
		"eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "sa-east-1",
	}
)

func price(in, out float64) *ModelPrice {
	return &ModelPrice{InputPerMillion: in, OutputPerMillion: out}
}

// models is the table, keyed by base model id. Each row's sources are in
// docs/bedrock.md ("Model table"); change a row there and here together.
//
// Structured output is enabled only where AWS documents it by name (Claude 4.5 and
// later, OpenAI gpt-oss). AWS also lists "select" Qwen, Mistral, Gemma and MiniMax
// models without naming them: those get the answer format in the prompt only.
var models = index([]Model{
	{ID: "openai.gpt-oss-120b", StructuredOutput: true, ReasoningEffortField: "reasoning_effort", ReasoningEfforts: lowMedHigh,
		ServiceTiers: allTiers, MaxOutputTokens: 16_384, Regions: gptOSSRegion, Price: price(0.15, 0.60)},
	{ID: "openai.gpt-oss-20b", StructuredOutput: true, ReasoningEffortField: "reasoning_effort", ReasoningEfforts: lowMedHigh,
		ServiceTiers: onlyDefault, MaxOutputTokens: 16_384, Price: price(0.07, 0.30)},
	{ID: "mistral.mistral-large-3-675b-instruct", ServiceTiers: onlyDefault, MaxOutputTokens: 8_192, Price: price(2.00, 6.00)},
	{ID: "qwen.qwen3-vl-235b-a22b", ServiceTiers: onlyDefault, Price: price(0.22, 0.88)},
	{ID: "minimax.minimax-m2", ServiceTiers: onlyDefault, MaxOutputTokens: 128_000, Price: price(0.30, 1.20)},
	{ID: "google.gemma-3-27b-it", ServiceTiers: onlyDefault, MaxOutputTokens: 8_192, Price: price(0.23, 0.38)},
	{ID: "anthropic.claude-3-haiku", ServiceTiers: onlyDefault, MaxOutputTokens: 4_096, Price: price(0.25, 1.25)},
	{ID: "anthropic.claude-3-5-haiku", ServiceTiers: onlyDefault, MaxOutputTokens: 8_192, Price: price(0.80, 4.00)},
	{ID: "anthropic.claude-haiku-4-5", StructuredOutput: true, ServiceTiers: onlyDefault, MaxOutputTokens: 64_000, Price: price(1.00, 5.00)},
	{ID: "anthropic.claude-3-sonnet", ServiceTiers: onlyDefault, MaxOutputTokens: 4_096, Price: price(3.00, 15.00)},
	{ID: "anthropic.claude-3-7-sonnet", ServiceTiers: onlyDefault, Price: price(3.00, 15.00)},
	{ID: "anthropic.claude-sonnet-4", ServiceTiers: onlyDefault, Price: price(3.00, 15.00)},
	{ID: "anthropic.claude-sonnet-4-5", StructuredOutput: true, ServiceTiers: onlyDefault, MaxOutputTokens: 64_000, Price: price(3.00, 15.00)},
	{ID: "anthropic.claude-opus-4-5", StructuredOutput: true, ServiceTiers: onlyDefault, MaxOutputTokens: 64_000, Price: price(5.00, 25.00)},
	// No price recorded: its cost is reported unknown, never as zero.
	{ID: "anthropic.claude-opus-4-6", StructuredOutput: true, ServiceTiers: onlyDefault, MaxOutputTokens: 128_000},
	{ID: "amazon.nova-micro", ServiceTiers: onlyDefault, Price: price(0.035, 0.14)},
	{ID: "amazon.nova-lite", ServiceTiers: onlyDefault, Price: price(0.06, 0.24)},
	{ID: "amazon.nova-pro", ServiceTiers: onlyDefault, Price: price(0.80, 3.20)},
	{ID: "amazon.nova-premier", ServiceTiers: onlyDefault, Price: price(2.50, 12.50)},
})

func index(rows []Model) map[string]Model {
	out := make(map[string]Model, len(rows))
	for _, m := range rows {
		out[m.ID] = m
	}
	return out
}

// Lookup finds a model by any of its ids (with or without an inference-profile prefix
// or version suffix). Unknown models report false.
func Lookup(modelID string) (Model, bool) {
	m, ok := models[BaseModelID(modelID)]
	return m, ok
}

// Models lists the table sorted by id (for docs and the CLI).
func Models() []Model {
	out := make([]Model, 0, len(models))
	for _, m := range models {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// OffersTier reports whether the model is offered with a service tier; "" is the default tier.
func (m Model) OffersTier(tier string) bool {
	if tier == "" {
		tier = TierDefault
	}
	return slices.Contains(m.ServiceTiers, tier)
}

// AcceptsReasoningEffort reports whether the model takes this reasoning effort value.
func (m Model) AcceptsReasoningEffort(effort string) bool {
	return m.ReasoningEffortField != "" && slices.Contains(m.ReasoningEfforts, effort)
}

// OfferedIn reports whether the model is offered in a Region; known is false when the
// table does not record its Regions.
func (m Model) OfferedIn(region string) (offered, known bool) {
	if m.Regions == nil {
		return false, false
	}
	return slices.Contains(m.Regions, region), true
}
