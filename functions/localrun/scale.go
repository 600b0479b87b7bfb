package localrun

import (
	"time"

	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Scale shrinks the stack's waits by factor, a model call's latency over the one the
// stack plans for (ExpectedPassLatency), so a run against a faster model keeps the
// proportions of production in seconds instead of minutes: the slot wait, the throttle
// retry's interval and cap, the breaker's and the controller's cooldowns. Step
// Functions waits have a one-second floor, so no wait goes below it. The throughput
// simulation scales by its simulated latency, the demo by the offline model's.
func Scale(s stacks.Settings, factor float64) stacks.Settings {
	s.SlotWait = ScaleWait(s.SlotWait, factor)
	s.ThrottleRetryInterval = ScaleWait(s.ThrottleRetryInterval, factor)
	s.ThrottleRetryMaxDelay = ScaleWait(s.ThrottleRetryMaxDelay, factor)
	s.BreakerCooldown = ScaleWait(s.BreakerCooldown, factor)
	s.ConcurrencyCooldown = ScaleWait(s.ConcurrencyCooldown, factor)
	return s
}

// ScaleWait is d scaled by factor, in whole seconds, at least one.
func ScaleWait(d time.Duration, factor float64) time.Duration {
	return max(time.Second, time.Duration(float64(d)*factor).Round(time.Second))
}

// ScaledDeferDelay is InvokeEnrichment's defer delay scaled like the stack's waits.
func ScaledDeferDelay(factor float64) time.Duration {
	return ScaleWait(invoke.DefaultDeferDelay, factor)
}
