package localrun

import (
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestScale(t *testing.T) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		factor                               float64
		slotWait, throttle, maxDel, cooldown time.Duration
	}{
		{1, s.SlotWait, s.ThrottleRetryInterval, s.ThrottleRetryMaxDelay, s.ConcurrencyCooldown},
		{2.0 / 30, time.Second, time.Second, 8 * time.Second, 6 * time.Second},
		{0.001, time.Second, time.Second, time.Second, time.Second}, // the one-second floor of Step Functions waits
		{0, time.Second, time.Second, time.Second, time.Second},     // the offline model of the demo
	} {
		got := Scale(s, tc.factor)
		if got.SlotWait != tc.slotWait || got.ThrottleRetryInterval != tc.throttle || got.ThrottleRetryMaxDelay != tc.maxDel ||
			got.ConcurrencyCooldown != tc.cooldown {
			t.Errorf("Scale(%.3f): slot wait %v, throttle retry %v, max delay %v, cooldown %v; want %v, %v, %v, %v",
				tc.factor, got.SlotWait, got.ThrottleRetryInterval, got.ThrottleRetryMaxDelay, got.ConcurrencyCooldown,
				tc.slotWait, tc.throttle, tc.maxDel, tc.cooldown)
		}
		if got.MaxConcurrentExecutions != s.MaxConcurrentExecutions || got.PassTimeout != s.PassTimeout {
			t.Errorf("Scale(%.3f) changed concurrency or the pass timeout", tc.factor)
		}
	}
}
