// Package llm calls Amazon Bedrock models through the Converse API: one request shape
// for every model family, errors classified into the named kinds the state machine
// retries and catches, a per-model circuit breaker and the model price table.
package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Message is one conversation turn; Role is "user" or "assistant" (a Converse role).
type Message struct {
	Role string
	Text string
}

// Call is one Converse request.
type Call struct {
	ModelID     string
	System      string
	Messages    []Message
	MaxTokens   int // 0: the model's default (avoid: Bedrock reserves quota for it)
	Temperature float32
	// Schema is an optional JSON schema for the answer. It is sent as
	// outputConfig.textFormat only to models that support structured output; others
	// rely on the prompt and the caller's parser.
	Schema json.RawMessage
	// ServiceTier is "", "default", "priority" or "flex"; "" and "default" send nothing.
	ServiceTier string
	// ReasoningEffort is one of the model's ReasoningEfforts (gpt-oss: "low",
	// "medium", "high"); a call setting it for a model that takes none is refused.
	ReasoningEffort string
}

// Answer is the model's reply. Text is the answer only: reasoning content is kept
// apart so JSON quoted in the reasoning is never mistaken for the result.
type Answer struct {
	ModelID    string
	Text       string
	Reasoning  string
	StopReason string // "max_tokens" means truncated: retry with a larger budget
	Usage      contract.Tokens
	Latency    time.Duration // wall time of the call, SDK retries included
	// Attempts are the HTTP attempts the call made (SDK retries included); set on
	// errors too, so throttled attempts are counted whatever the outcome.
	Attempts Attempts
	// Emulated is how the local cloud's emulator made the answer ("offline",
	// "replay"), from the response field EmulatorField; "" for Amazon Bedrock.
	Emulated string
}

// EmulatorField is the additionalModelResponseFields key in which the local cloud's
// Bedrock emulator says how it made an answer. Bedrock itself never sends it.
const EmulatorField = "emulator"

// Options configures a Client.
type Options struct {
	// Breaker configures one circuit breaker per model id; Failures <= 0 disables them.
	Breaker BreakerSettings
}

// Client sends Calls to Bedrock.
type Client struct {
	rt *bedrockruntime.Client
	o  Options

	mu       sync.Mutex
	breakers map[string]*Breaker
}

// New wraps a runtime client built by NewRuntime.
func New(rt *bedrockruntime.Client, o Options) *Client {
	return &Client{rt: rt, o: o, breakers: map[string]*Breaker{}}
}

// Breaker returns the breaker of a model (created on first use), or nil when breakers
// are disabled. Its State is meant for metrics.
func (c *Client) Breaker(modelID string) *Breaker {
	if c.o.Breaker.Failures <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.breakers[modelID]
	if !ok {
		b = NewBreaker(c.o.Breaker)
		c.breakers[modelID] = b
	}
	return b
}

// Converse sends one call. Errors wrap the SDK error (errors.As works) and Kind names
// them. An answer without text returns both the Answer (tokens were billed) and a
// *NoTextError.
func (c *Client) Converse(ctx context.Context, call Call) (ans Answer, err error) {
	ans.ModelID = call.ModelID
	in, err := request(call)
	if err != nil {
		return ans, err
	}
	if err := Held(ctx); err != nil {
		return ans, fmt.Errorf("bedrock %s: %w", call.ModelID, err)
	}
	if b := c.Breaker(call.ModelID); b != nil {
		done, openErr := b.Allow()
		if openErr != nil {
			return ans, fmt.Errorf("bedrock %s: %w", call.ModelID, openErr)
		}
		defer func() { done(err) }() // the named result: the call's final error
	}

	start := time.Now()
	var attempts attemptCounter
	out, err := c.rt.Converse(ctx, in, attempts.option)
	ans.Latency = time.Since(start)
	ans.Attempts = attempts.result()
	if err != nil {
		return ans, fmt.Errorf("bedrock converse %s: %w", call.ModelID, err)
	}
	fill(&ans, out)
	if strings.TrimSpace(ans.Text) == "" {
		return ans, fmt.Errorf("bedrock converse %s: %w", call.ModelID,
			&NoTextError{StopReason: ans.StopReason, Reasoning: ans.Reasoning != ""})
	}
	return ans, nil
}

// request maps a Call to the Converse input, applying the model family's quirks.
func request(call Call) (*bedrockruntime.ConverseInput, error) {
	if call.ModelID == "" {
		return nil, fmt.Errorf("%w: empty model id", ErrInvalidCall)
	}
	model, known := Lookup(call.ModelID)
	in := &bedrockruntime.ConverseInput{
		ModelId:         aws.String(call.ModelID),
		InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(call.Temperature)},
	}
	if call.MaxTokens > 0 {
		in.InferenceConfig.MaxTokens = aws.Int32(int32(call.MaxTokens))
	}
	if call.System != "" {
		in.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: call.System}}
	}
	for _, m := range call.Messages {
		role := types.ConversationRole(m.Role)
		if !slices.Contains(role.Values(), role) {
			return nil, fmt.Errorf("%w: role %q", ErrInvalidCall, m.Role)
		}
		in.Messages = append(in.Messages, types.Message{
			Role:    role,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: m.Text}},
		})
	}
	if len(call.Schema) > 0 && model.StructuredOutput {
		if !json.Valid(call.Schema) {
			return nil, fmt.Errorf("%w: schema is not valid JSON", ErrInvalidCall)
		}
		in.OutputConfig = &types.OutputConfig{TextFormat: &types.OutputFormat{
			Type: types.OutputFormatTypeJsonSchema,
			Structure: &types.OutputFormatStructureMemberJsonSchema{Value: types.JsonSchemaDefinition{
				Name:   aws.String("answer"),
				Schema: aws.String(string(call.Schema)),
			}},
		}}
	}
	if call.ServiceTier != "" && call.ServiceTier != string(types.ServiceTierTypeDefault) {
		tier := types.ServiceTierType(call.ServiceTier)
		if !slices.Contains(tier.Values(), tier) {
			return nil, fmt.Errorf("%w: service tier %q", ErrInvalidCall, call.ServiceTier)
		}
		in.ServiceTier = &types.ServiceTier{Type: tier}
	}
	if call.ReasoningEffort != "" {
		// Refused rather than dropped: a setting that silently does nothing hides a
		// wrong configuration (and its cost).
		if !known || !model.AcceptsReasoningEffort(call.ReasoningEffort) {
			return nil, fmt.Errorf("%w: model %s takes no reasoning effort %q (accepted: %v)",
				ErrInvalidCall, call.ModelID, call.ReasoningEffort, model.ReasoningEfforts)
		}
		in.AdditionalModelRequestFields = document.NewLazyDocument(
			map[string]any{model.ReasoningEffortField: call.ReasoningEffort})
	}
	return in, nil
}

// fill copies text, reasoning, stop reason and usage from the response. Redacted
// reasoning carries nothing readable and is skipped.
func fill(ans *Answer, out *bedrockruntime.ConverseOutput) {
	ans.StopReason = string(out.StopReason)
	if out.AdditionalModelResponseFields != nil {
		var fields map[string]any
		if out.AdditionalModelResponseFields.UnmarshalSmithyDocument(&fields) == nil {
			ans.Emulated, _ = fields[EmulatorField].(string)
		}
	}
	if u := out.Usage; u != nil {
		ans.Usage = contract.Tokens{Input: int(aws.ToInt32(u.InputTokens)), Output: int(aws.ToInt32(u.OutputTokens))}
	}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return
	}
	var text, reasoning strings.Builder
	for _, block := range msg.Value.Content {
		switch b := block.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(b.Value)
		case *types.ContentBlockMemberReasoningContent:
			if r, ok := b.Value.(*types.ReasoningContentBlockMemberReasoningText); ok {
				reasoning.WriteString(aws.ToString(r.Value.Text))
			}
		}
	}
	ans.Text = text.String()
	ans.Reasoning = reasoning.String()
}
