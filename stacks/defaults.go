package stacks

import (
	"fmt"
	"strings"
	"time"
)

// Names are the stacks of the project, in promotion order; Defaults knows each.
var Names = []string{"dev", "staging", "prod"}

// DefaultModel is the model used for every pass unless a stack tunes it.
const DefaultModel = "openai.gpt-oss-120b-1:0"

// Defaults returns the settings of a known environment before any stack config is applied.
func Defaults(stack string) (Settings, error) {
	s := Settings{
		Stack:                       stack,
		AdmissionBuffer:             2,
		InvokeMaxConcurrency:        2,
		QueueVisibility:             180 * time.Second,
		QueueMaxReceives:            5,
		MessageGroups:               16,
		MaxPartitionsPerRun:         10,
		MaxJobsPerPartition:         100,
		MaxAttempts:                 3,
		AdaptiveConcurrency:         true,
		ConcurrencyMin:              1,
		ConcurrencyInitial:          2,
		ConcurrencyStep:             1,
		ConcurrencyDecrease:         0.5,
		ConcurrencyCooldown:         90 * time.Second,
		ConcurrencySuccessesPerSlot: 3,
		DiscoverTimeout:             120 * time.Second,
		InvokeTimeout:               30 * time.Second,
		CleanupTimeout:              60 * time.Second,
		LockTimeout:                 30 * time.Minute,
		LateLookback:                24 * time.Hour,
		SlotWait:                    20 * time.Second,
		SlotWaitAttempts:            30,
		DiscoverSchedule:            "rate(1 hour)",
		CleanupSchedule:             "rate(15 minutes)",
		ModelPass1:                  DefaultModel,
		ModelPass2:                  DefaultModel,
		ModelPass3:                  DefaultModel,
		// Efforts per pass: docs/bedrock.md, "Reasoning effort".
		ReasoningEffortPass1:   "low",
		ReasoningEffortPass2:   "low",
		ReasoningEffortPass3:   "medium",
		BedrockRPM:             100,
		ExpectedPassLatency:    30 * time.Second,
		BreakerFailures:        5,
		BreakerCooldown:        60 * time.Second,
		ThrottleRetryInterval:  15 * time.Second,
		ThrottleRetryMaxDelay:  120 * time.Second,
		ThrottleRetryAttempts:  3,
		SilverPrefix:           "linkedin/",
		AlarmDLQMessages:       1,
		AlarmDLQMessageAge:     72 * time.Hour,
		AlarmErrorRatePercent:  5,
		AlarmP99Latency:        120 * time.Second,
		AlarmSFNFailures:       5,
		AlarmOldestMessageAge:  2 * time.Hour,
		AlarmThrottles:         10,
		AlarmSemaphoreDrift:    1,
		AlarmFunctionErrors:    1,
		AlarmPublishFailures:   1,
		AlarmUnreadableObjects: 1,
		AlarmCursorLag:         6 * time.Hour,
		AlarmOldestJobAge:      6 * time.Hour,
		AlarmStuckJobs:         1,
		LogRetentionDays:       30,
		Tags:                   map[string]string{},
	}
	switch stack {
	case "dev":
		s.MaxConcurrentExecutions, s.SQSBatchSize, s.PassTimeout = 5, 1, 180*time.Second
		s.LogRetentionDays = 14
	case "staging":
		s.MaxConcurrentExecutions, s.SQSBatchSize, s.PassTimeout = 20, 5, 180*time.Second
	case "prod":
		s.MaxConcurrentExecutions, s.SQSBatchSize, s.PassTimeout = 50, 10, 300*time.Second
		s.LogRetentionDays = 90
	default:
		return Settings{}, fmt.Errorf("unknown stack %q: want %s", stack, strings.Join(Names, ", "))
	}
	return s, nil
}

// Models lists the model of each pass, in pass order.
func (s Settings) Models() []string {
	return []string{s.ModelPass1, s.ModelPass2, s.ModelPass3}
}

// ReasoningEfforts lists the reasoning effort of each pass, in pass order.
func (s Settings) ReasoningEfforts() []string {
	return []string{s.ReasoningEffortPass1, s.ReasoningEffortPass2, s.ReasoningEffortPass3}
}
