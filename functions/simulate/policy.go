package simulate

import (
	"fmt"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Policy is the way executions wait for a slot and are admitted.
type Policy string

const (
	// Ours is the deployed policy: admission control upstream and a bounded, jittered
	// wait that re-enters the acquire state.
	Ours Policy = "ours"
	// Original is the original system's: every message starts an execution, and the
	// acquire state retries the failed condition with a growing, uncapped backoff
	// (3 s, ×1.5, 100 attempts) before failing.
	Original Policy = "original"
	// Adaptive is Ours with the concurrency controller moving the effective limit.
	Adaptive Policy = "adaptive"
	// Fixed is Ours with the limit fixed at the configured maximum (no controller).
	Fixed Policy = "fixed"
)

// The original system's retry of the lock acquisition (inventory §4).
const (
	originalAcquireInterval = 3 * time.Second
	originalAcquireBackoff  = 1.5
	originalAcquireAttempts = 100
)

// conditionFailed is the error name of a failed DynamoDB condition in Step Functions.
const conditionFailed = "DynamoDB.ConditionalCheckFailedException"

// OriginalDefinition is the stack's definition with the original lock policy: a
// Retry on the failed condition in AcquireSlot (interval scaled by the same factor
// as the other waits, at least 1 s; no MaxDelaySeconds, no jitter) and, once it is
// exhausted, straight to the failure path. It post-processes the typed definition,
// so everything else (claim, passes, release) is the deployed one.
func OriginalDefinition(names contract.Names, s stacks.Settings, scale float64) (string, error) {
	m, err := workflow.Pipeline(names, s, localcloud.Account)
	if err != nil {
		return "", fmt.Errorf("state machine of stack %s: %w", names.Stack, err)
	}
	acquire, ok := m.State(workflow.StateAcquireSlot).(*workflow.Task)
	if !ok {
		return "", fmt.Errorf("state %s is not a task", workflow.StateAcquireSlot)
	}
	acquire.Retry = append([]workflow.Retry{{
		ErrorEquals:     []string{conditionFailed},
		IntervalSeconds: int(localrun.ScaleWait(originalAcquireInterval, scale).Seconds()),
		BackoffRate:     originalAcquireBackoff,
		MaxAttempts:     originalAcquireAttempts,
	}}, acquire.Retry...)
	left, ok := m.State(workflow.StateSlotWaitLeft).(*workflow.Choice)
	if !ok || len(left.Choices) != 1 {
		return "", fmt.Errorf("state %s is not the one-rule choice this variant rewrites", workflow.StateSlotWaitLeft)
	}
	// The first exhaustion of the retries fails the attempt: no wait loop.
	left.Choices[0].When = workflow.Compare("$.claim.slotWaits", workflow.NumericGreaterThan, 0)
	def, err := m.JSON()
	if err != nil {
		return "", fmt.Errorf("render original-policy state machine: %w", err)
	}
	return string(def), nil
}
