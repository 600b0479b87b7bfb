package enrichpartition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/llm"
)

// WarmTimeout bounds one warm-up call. Bedrock compiles the grammar of a schema it
// has not seen on the first request that carries it, which "can take several
// minutes", then caches it for 24 hours (structured-output.html, request workflow).
const WarmTimeout = 10 * time.Minute

// Warmed is the outcome of warming one pass's schema on its model.
type Warmed struct {
	Pass      contract.Pass `json:"pass"`
	Model     string        `json:"model_id"`
	Skipped   bool          `json:"skipped"` // the model takes no structured-output schema
	LatencyMs int64         `json:"latency_ms"`
}

// WarmSchemas sends each pass's structured-output schema to its model once, with a
// one-token budget, so the grammar is compiled and cached before a pass has to wait
// for it inside its Lambda timeout. Run it after a deploy that changes a prompt
// version, a schema or a model (enrichctl warm-schemas). A truncated answer is the
// expected outcome; only a failed request is an error.
func WarmSchemas(ctx context.Context, client *llm.Client, models map[contract.Pass]string, serviceTier string) ([]Warmed, error) {
	posting := contract.Posting{JobPostingID: "0", JobTitle: "warm-up", DescriptionText: "Schema warm-up request."}
	previous := map[contract.Pass]json.RawMessage{}
	for _, p := range contract.Passes {
		previous[p] = json.RawMessage(`{}`)
	}
	var out []Warmed
	for _, pass := range contract.Passes {
		w := Warmed{Pass: pass, Model: models[pass]}
		if m, ok := llm.Lookup(w.Model); !ok || !m.StructuredOutput {
			w.Skipped = true
			out = append(out, w)
			continue
		}
		req, err := enrich.BuildRequest(pass, posting, previous, TargetFor(w.Model, ""))
		if err != nil {
			return out, fmt.Errorf("warm %s: %w", pass, err)
		}
		cctx, cancel := context.WithTimeout(ctx, WarmTimeout)
		ans, err := client.Converse(cctx, llm.Call{
			ModelID: w.Model, System: req.System, Messages: []llm.Message{{Role: "user", Text: req.Messages[0].Text}},
			MaxTokens: 1, Schema: req.Schema, ServiceTier: serviceTier,
		})
		cancel()
		if err != nil && !errors.Is(err, llm.ErrNoText) {
			return out, fmt.Errorf("warm %s schema on %s: %w", pass, w.Model, err)
		}
		w.LatencyMs = ans.Latency.Milliseconds()
		out = append(out, w)
	}
	return out, nil
}
