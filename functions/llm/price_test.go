package llm

import (
	"math"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestBaseModelID(t *testing.T) {
	tests := map[string]string{
		"openai.gpt-oss-120b-1:0":                                                          "openai.gpt-oss-120b",
		"us.openai.gpt-oss-120b-1:0":                                                       "openai.gpt-oss-120b",
		"global.anthropic.claude-sonnet-4-5-20250929-v1:0":                                 "anthropic.claude-sonnet-4-5",
		"anthropic.claude-3-haiku-20240307-v1:0":                                           "anthropic.claude-3-haiku",
		"eu.amazon.nova-pro-v1:0":                                                          "amazon.nova-pro",
		"anthropic.claude-3-sonnet-20240229-v1:0:200k":                                     "anthropic.claude-3-sonnet",
		"google.gemma-3-27b-it":                                                            "google.gemma-3-27b-it",
		"mistral.mistral-large-3-675b-instruct":                                            "mistral.mistral-large-3-675b-instruct",
		"qwen.qwen3-vl-235b-a22b":                                                          "qwen.qwen3-vl-235b-a22b",
		"anthropic.claude-opus-4-1-20250805-v1:0":                                          "anthropic.claude-opus-4-1",
		"anthropic.claude-opus-4-6-v1":                                                     "anthropic.claude-opus-4-6",
		"arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0":              "openai.gpt-oss-120b",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0": "amazon.nova-pro",
		// A base id is its own base: the minor version is not a revision.
		"anthropic.claude-sonnet-4-5": "anthropic.claude-sonnet-4-5",
	}
	for in, want := range tests {
		if got := BaseModelID(in); got != want {
			t.Errorf("BaseModelID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrice(t *testing.T) {
	tests := []struct {
		id        string
		in, out   float64
		wantKnown bool
	}{
		// The original billed gpt-oss output at $0.30/1M (W8); the published price is $0.60.
		{"openai.gpt-oss-120b-1:0", 0.15, 0.60, true},
		{"us.openai.gpt-oss-120b-1:0", 0.15, 0.60, true},
		{"apac.openai.gpt-oss-20b-1:0", 0.07, 0.30, true},
		{"mistral.mistral-large-3-675b-instruct", 2, 6, true},
		{"qwen.qwen3-vl-235b-a22b", 0.22, 0.88, true},
		{"minimax.minimax-m2", 0.30, 1.20, true},
		{"google.gemma-3-27b-it", 0.23, 0.38, true},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3, 15, true},
		{"anthropic.claude-3-haiku-20240307-v1:0", 0.25, 1.25, true},
		{"us.amazon.nova-lite-v1:0", 0.06, 0.24, true},
		// A newer minor version must not inherit the price of its major version.
		{"anthropic.claude-opus-4-1-20250805-v1:0", 0, 0, false},
		{"acme.unknown-model-v1:0", 0, 0, false},
		// In the model table without a recorded price: unknown, not free.
		{"anthropic.claude-opus-4-6-v1", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			p, ok := Price(tt.id)
			if ok != tt.wantKnown || p.InputPerMillion != tt.in || p.OutputPerMillion != tt.out {
				t.Errorf("Price(%q) = %+v, %t; want {%v %v}, %t", tt.id, p, ok, tt.in, tt.out, tt.wantKnown)
			}
		})
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		id        string
		tokens    contract.Tokens
		want      float64
		wantKnown bool
	}{
		{"openai.gpt-oss-120b-1:0", contract.Tokens{Input: 1_000_000, Output: 1_000_000}, 0.75, true},
		{"us.openai.gpt-oss-120b-1:0", contract.Tokens{Input: 1000, Output: 500}, 0.00045, true},
		{"google.gemma-3-27b-it", contract.Tokens{}, 0, true},
		{"acme.unknown-model-v1:0", contract.Tokens{Input: 1000, Output: 1000}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, known := Cost(tt.id, tt.tokens)
			if known != tt.wantKnown || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Cost(%q, %+v) = %v, %t; want %v, %t", tt.id, tt.tokens, got, known, tt.want, tt.wantKnown)
			}
		})
	}
}
