package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

// ScenarioHiddenCapacity is the name of the hidden-capacity scenario.
const ScenarioHiddenCapacity = "hidden-capacity"

// HiddenCapacity is the scenario of issue 13: the model's capacity (requests and
// tokens per minute) is unknown to the stack and below what its configured maximum
// would ask for; it drops to half for a phase mid-run and recovers. The same jobs
// run under the adaptive controller and under the fixed limit, each in its own
// local cloud.
type HiddenCapacity struct {
	Settings stacks.Settings
	Jobs     int
	Latency  time.Duration
	RPM, TPM int           // the capacity before and after the drop
	Phase    time.Duration // full capacity for a phase, half for the next, full again
	Timeout  time.Duration
}

// DefaultHiddenCapacity sizes the scenario for the local cloud on a shared 2-core
// machine: a maximum of 12 slots against a capacity of 45 calls per minute (about
// four slots of 4 s calls plus the local cloud's own time per job; the token quota
// allows about as many at the offline model's ~3,000 tokens per call), for about
// four minutes of work.
func DefaultHiddenCapacity(s stacks.Settings) HiddenCapacity {
	s.MaxConcurrentExecutions = max(s.MaxConcurrentExecutions, 12)
	s.ConcurrencyMin = min(s.ConcurrencyMin, s.MaxConcurrentExecutions)
	return HiddenCapacity{Settings: s, Jobs: 60, Latency: 4 * time.Second, RPM: 45, TPM: 150_000, Phase: 70 * time.Second, Timeout: 15 * time.Minute}
}

// Run runs the scenario under the adaptive and the fixed policy.
func (h HiddenCapacity) Run(ctx context.Context) ([]Result, error) {
	var out []Result
	for _, p := range []Policy{Adaptive, Fixed} {
		r, err := Run(ctx, Options{
			Settings: h.Settings, Policy: p, Jobs: h.Jobs, Latency: h.Latency, RPM: h.RPM, TPM: h.TPM, Seed: 11, Timeout: h.Timeout,
			Capacity: []QuotaStep{{At: h.Phase, RPM: h.RPM / 2, TPM: h.TPM / 2}, {At: 2 * h.Phase, RPM: h.RPM, TPM: h.TPM}},
		})
		if err != nil {
			return out, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}
