package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rpm, slots int
		latency    time.Duration
		jobsPerMin float64
	}{
		{"quota binds", 60, 5, 2 * time.Second, 20},
		{"concurrency binds", 600, 5, 2 * time.Second, 50},
		{"no quota", 0, 20, 30 * time.Second, 13.333},
		{"production dev stack", 100, 5, 30 * time.Second, 3.333},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bound(tc.rpm, tc.slots, tc.latency); math.Abs(got-tc.jobsPerMin) > 0.001 {
				t.Fatalf("Bound(%d, %d, %v) = %.3f, want %.3f", tc.rpm, tc.slots, tc.latency, got, tc.jobsPerMin)
			}
		})
	}
}

// TestOriginalDefinition checks the variant: the acquire state retries the failed
// condition without a cap on the delay, and the first exhaustion fails the attempt.
func TestOriginalDefinition(t *testing.T) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	def, err := OriginalDefinition(contract.NamesFor("dev"), s, 1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		States map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(def), &doc); err != nil {
		t.Fatal(err)
	}
	var acquire struct {
		Retry []map[string]any
	}
	if err := json.Unmarshal(doc.States[workflow.StateAcquireSlot], &acquire); err != nil {
		t.Fatal(err)
	}
	if len(acquire.Retry) == 0 {
		t.Fatalf("%s has no retry", workflow.StateAcquireSlot)
	}
	r := acquire.Retry[0]
	want := map[string]any{"ErrorEquals": []any{conditionFailed}, "IntervalSeconds": 3.0, "BackoffRate": 1.5, "MaxAttempts": 100.0}
	for k, v := range want {
		if b, _ := json.Marshal(r[k]); string(b) != mustJSON(t, v) {
			t.Errorf("retry %s = %s, want %s", k, b, mustJSON(t, v))
		}
	}
	if _, capped := r["MaxDelaySeconds"]; capped {
		t.Errorf("the original retry has no MaxDelaySeconds: %v", r)
	}
	var left struct {
		Choices []map[string]any
	}
	if err := json.Unmarshal(doc.States[workflow.StateSlotWaitLeft], &left); err != nil {
		t.Fatal(err)
	}
	if len(left.Choices) != 1 || left.Choices[0]["NumericGreaterThan"] != 0.0 || left.Choices[0]["Next"] != workflow.StateNoSlot {
		t.Errorf("%s must send the first exhaustion to %s: %v", workflow.StateSlotWaitLeft, workflow.StateNoSlot, left.Choices)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunSmall runs both policies on a few jobs in the local cloud: every job
// completes and the figures are consistent. Throughput targets are measured by
// `make bench-throughput`, not asserted here.
func TestRunSmall(t *testing.T) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.MaxConcurrentExecutions = 2
	// The handlers log to the default logger.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	for _, p := range []Policy{Ours, Original} {
		t.Run(string(p), func(t *testing.T) {
			r, err := Run(context.Background(), Options{Settings: s, Policy: p, Jobs: 6, Latency: time.Second, RPM: 600, Seed: 3, Timeout: 4 * time.Minute})
			if errors.Is(err, localcloud.ErrMotoMissing) {
				t.Skip("local cloud unavailable: ", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Completed != r.Jobs || r.ModelCalls < 3*r.Jobs || r.Executions < r.Jobs || r.PeakSlots > 2 {
				t.Fatalf("%+v", r)
			}
			if r.TransitionsPerJob < 10 || r.JobsPerMinute <= 0 || r.BoundPerMinute != 40 {
				t.Fatalf("%+v", r)
			}
			t.Logf("%+v", r)
		})
	}
}
