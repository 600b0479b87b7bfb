package enrichpartition

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
)

// The pass's reasoning effort reaches the model call: its budget is sized by it and
// the emulator, which refuses efforts Bedrock would, accepts it.
func TestReasoningEffortReachesTheCall(t *testing.T) {
	for _, tt := range []struct {
		effort    string
		maxTokens int
	}{{"high", 1536 + 12288}, {"low", 1536 + 2048}, {"", 1536 + 6144}} {
		t.Run("effort "+tt.effort, func(t *testing.T) {
			f := setup(t)
			cfg, err := f.cloud.AWSConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f.h, err = New(cfg, cfg, Options{
				Stack: "test", BronzeBucket: testBucket, AcceptEmulated: true,
				Models:           map[contract.Pass]string{contract.Pass1: testModel, contract.Pass2: testModel, contract.Pass3: testModel},
				ReasoningEfforts: map[contract.Pass]string{contract.Pass1: tt.effort},
			}, slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics.New(io.Discard, contract.MetricsNamespace))
			if err != nil {
				t.Fatal(err)
			}
			f.mustRun(contract.Pass1, true)
			var got []int
			for _, c := range f.emu.Calls() {
				if c.Job == f.job {
					got = append(got, c.MaxTokens)
					if c.Outcome != "ok" || !c.StructuredOutput {
						t.Errorf("call %+v", c)
					}
				}
			}
			if len(got) != 1 || got[0] != tt.maxTokens {
				t.Fatalf("maxTokens of the calls %v, want [%d]", got, tt.maxTokens)
			}
		})
	}
}

func TestOptionsFromEnvReadReasoningEfforts(t *testing.T) {
	t.Setenv(contract.EnvBronzeBucket, "b")
	for _, e := range []string{contract.EnvModelPass1, contract.EnvModelPass2, contract.EnvModelPass3} {
		t.Setenv(e, testModel)
	}
	t.Setenv(contract.EnvReasoningEffortPass1, "low")
	t.Setenv(contract.EnvReasoningEffortPass3, "high")
	o, err := Spec.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if o.ReasoningEfforts[contract.Pass1] != "low" || o.ReasoningEfforts[contract.Pass2] != "" || o.ReasoningEfforts[contract.Pass3] != "high" {
		t.Errorf("efforts %v", o.ReasoningEfforts)
	}
	t.Setenv(contract.EnvModelPass3, "google.gemma-3-27b-it")
	if _, err := Spec.FromEnv(); err == nil {
		t.Error("an effort for gemma was accepted")
	}
}
