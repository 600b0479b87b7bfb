package enrichpartition

import (
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestOptionsRefuseReasoningEffortsModelsCannotTake(t *testing.T) {
	tests := []struct {
		name, model, effort, wantErr string
	}{
		{"gpt-oss low", "openai.gpt-oss-120b-1:0", "low", ""},
		{"none for any model", "mistral.mistral-large-3-675b-instruct", "", ""},
		{"effort for mistral", "mistral.mistral-large-3-675b-instruct", "medium", "pass3: model mistral.mistral-large-3-675b-instruct takes no reasoning effort"},
		{"unknown effort", "openai.gpt-oss-120b-1:0", "max", `pass3: reasoning effort "max": model openai.gpt-oss-120b-1:0 takes low, medium, high`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{
				BronzeBucket:     "b",
				Models:           map[contract.Pass]string{contract.Pass1: tt.model, contract.Pass2: tt.model, contract.Pass3: tt.model},
				ReasoningEfforts: map[contract.Pass]string{contract.Pass3: tt.effort},
			}
			err := o.validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
