package llm

import (
	"regexp"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// versionSuffix matches what Bedrock appends to a base model id: a release date
// (-20240307), a version (-v1), a revision (-1, only before a qualifier, so the
// minor version of claude-sonnet-4-5 stays) and a ':'-qualifier (:0, :200k).
var versionSuffix = regexp.MustCompile(`(-\d{8})?(-v\d+)?(-\d+:.*|:.*)?$`)

// ModelID takes the model or system inference-profile id out of a foundation-model or
// inference-profile ARN (Converse accepts either); an id is returned as is.
func ModelID(idOrARN string) string {
	if strings.HasPrefix(idOrARN, "arn:") {
		return idOrARN[strings.LastIndex(idOrARN, "/")+1:]
	}
	return idOrARN
}

// BaseModelID strips an ARN, the inference-profile prefix and the version suffix, so
// us.anthropic.claude-3-haiku-20240307-v1:0 becomes anthropic.claude-3-haiku.
func BaseModelID(modelID string) string {
	id := contract.StripProfilePrefix(ModelID(modelID))
	loc := versionSuffix.FindStringIndex(id)
	return id[:loc[0]]
}

// Price looks up a model's price (the model table's). Unknown models and models
// without a recorded price report false rather than a made-up default, so a cost of
// zero is never silently recorded as real.
func Price(modelID string) (ModelPrice, bool) {
	m, ok := Lookup(modelID)
	if !ok || m.Price == nil {
		return ModelPrice{}, false
	}
	return *m.Price, true
}

// Cost is the USD cost of one call; known is false when the model has no price.
func Cost(modelID string, t contract.Tokens) (usd float64, known bool) {
	p, ok := Price(modelID)
	if !ok {
		return 0, false
	}
	return (float64(t.Input)*p.InputPerMillion + float64(t.Output)*p.OutputPerMillion) / 1e6, true
}
