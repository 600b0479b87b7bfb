package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
)

func TestCapacityUse(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var calls []bedrockemu.Call
	// 3 minutes: 60 rpm, then 30 rpm for a minute, then 60 rpm; one answered call per
	// second during the first and last minute, one per two seconds in the middle,
	// and four throttles.
	for s := 0; s < 180; s++ {
		if s >= 60 && s < 120 && s%2 == 1 {
			continue
		}
		calls = append(calls, bedrockemu.Call{At: start.Add(time.Duration(s) * time.Second), Outcome: "ok", Pass: contract.Pass1, InputTokens: 90, OutputTokens: 10})
	}
	for i := range 4 {
		calls = append(calls, bedrockemu.Call{At: start.Add(time.Duration(61+i) * time.Second), Outcome: string(bedrockemu.Throttle)})
	}
	quotas := []QuotaStep{{RPM: 60}, {At: time.Minute, RPM: 30}, {At: 2 * time.Minute, RPM: 60}}
	c := capacityUse(calls, start, quotas)
	// 150 answered of 60 + 30 + 59 allowed up to the last answer (at 2m59s).
	if math.Abs(c.CapacityRatio-150.0/149.0) > 0.001 || math.Abs(c.ThrottledShare-4.0/154.0) > 0.0001 {
		t.Fatalf("%+v", c)
	}
	// A token quota that binds: 3,000 tokens per minute at 100 tokens a call is 30 calls.
	c = capacityUse(calls, start, []QuotaStep{{RPM: 60, TPM: 3000}})
	if math.Abs(c.CapacityRatio-150.0/(30*179.0/60)) > 0.001 {
		t.Fatalf("with a binding token quota: %+v", c)
	}
	// The window ends at the last pass1 answer: a drain of pass2 and pass3 calls after
	// it is not held against the run.
	drain := append(calls, bedrockemu.Call{At: start.Add(10 * time.Minute), Outcome: "ok", Pass: contract.Pass3, InputTokens: 90, OutputTokens: 10})
	if got := capacityUse(drain, start, quotas); math.Abs(got.CapacityRatio-150.0/149.0) > 0.001 {
		t.Fatalf("with a drain: %+v", got)
	}
	if got := capacityUse(nil, start, quotas); got != (Capacity{}) {
		t.Fatalf("no calls: %+v", got)
	}
}
