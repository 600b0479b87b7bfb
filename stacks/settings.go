// Package stacks holds the typed per-stack settings of the pipeline, their defaults
// per environment and their validation.
package stacks

import (
	"strconv"
	"time"
)

// Settings is every tunable of one stack. The Pulumi program, the state machine
// definition, the local cloud and the capacity planner all read it.
type Settings struct {
	Stack string

	// Concurrency and dispatch.
	MaxConcurrentExecutions int // semaphore limit: jobs enriched at once
	AdmissionBuffer         int // executions started beyond free slots by InvokeEnrichment
	SQSBatchSize            int // FIFO event source batch size (≤ 10)
	InvokeMaxConcurrency    int // event source mapping maximum concurrency (2..1000)
	QueueVisibility         time.Duration
	QueueMaxReceives        int // receives before a message moves to the DLQ
	MessageGroups           int // FIFO message groups jobs are spread over
	MaxPartitionsPerRun     int
	MaxJobsPerPartition     int
	MaxAttempts             int // attempts per job before PERMANENTLY_FAILED

	// Adaptive concurrency: the controller moves the effective limit between
	// ConcurrencyMin and MaxConcurrentExecutions (docs/architecture.md).
	AdaptiveConcurrency         bool
	ConcurrencyMin              int           // the effective limit never goes below
	ConcurrencyInitial          int           // the limit the controller starts from (clamped to min..max)
	ConcurrencyStep             int           // additive increase after sustained success
	ConcurrencyDecrease         float64       // multiplicative factor on throttling, in (0, 1)
	ConcurrencyCooldown         time.Duration // least time between two changes
	ConcurrencySuccessesPerSlot int           // successful calls per slot, every slot busy, that earn a step

	// Timeouts.
	PassTimeout      time.Duration // EnrichPartition Lambda timeout
	DiscoverTimeout  time.Duration
	InvokeTimeout    time.Duration
	CleanupTimeout   time.Duration
	LockTimeout      time.Duration // unknown holders older than this are reclaimed
	LateLookback     time.Duration // how far behind its cursor discovery looks for late Silver (0: off)
	SlotWait         time.Duration // wait between slot acquisition attempts
	SlotWaitAttempts int           // bounded number of waits before giving up
	DiscoverSchedule string
	CleanupSchedule  string

	// Models.
	ModelPass1  string
	ModelPass2  string
	ModelPass3  string
	ServiceTier string // "", "default", "priority", "flex"
	// ReasoningEffortPass1..3 are "low", "medium", "high", or "" to send none (the
	// model's default; required for models without a reasoning effort).
	ReasoningEffortPass1 string
	ReasoningEffortPass2 string
	ReasoningEffortPass3 string
	BedrockRPM           int // requests per minute quota
	BedrockTPM           int // tokens per minute quota (0: unknown)
	// ExpectedPassLatency is the planning assumption for one model call; the quota
	// check and the capacity planner derive request rates from it.
	ExpectedPassLatency time.Duration
	BreakerFailures     int
	BreakerCooldown     time.Duration

	// State machine retry of a pass the model throttled (after the handler's own retries).
	ThrottleRetryInterval time.Duration
	ThrottleRetryMaxDelay time.Duration
	ThrottleRetryAttempts int

	// Storage.
	SilverBucket string
	SilverPrefix string
	BronzeBucket string

	// Alarms (docs/operations.md#alarms says what each means and what to do).
	AlarmDLQMessages       int           // messages in the DLQ (at least)
	AlarmDLQMessageAge     time.Duration // age of the oldest DLQ message, below QueueRetention
	AlarmErrorRatePercent  float64
	AlarmP99Latency        time.Duration
	AlarmSFNFailures       int // in 5 minutes
	AlarmOldestMessageAge  time.Duration
	AlarmThrottles         int // model throttles (EMF ModelThrottles) in 5 minutes
	AlarmSemaphoreDrift    int // |count − holders| reported by cleanup
	AlarmFunctionErrors    int // errors of DiscoverPartitions, InvokeEnrichment or CleanupLocks per period
	AlarmPublishFailures   int // jobs one discovery run marked but could not publish
	AlarmUnreadableObjects int // Silver objects one discovery run skipped as unreadable
	AlarmCursorLag         time.Duration
	AlarmOldestJobAge      time.Duration // oldest QUEUED, PENDING or IN_PROGRESS job
	AlarmStuckJobs         int           // jobs a sweep found with no live message or execution
	AlarmEmail             string
	AlarmTopicARN          string
	LogRetentionDays       int
	LogExecutionData       bool
	Tags                   map[string]string
}

// QueueRetention is how long both queues keep a message; a DLQ message older than
// that is gone, so the DLQ age alarm must fire before it.
const QueueRetention = 14 * 24 * time.Hour

// unknownInterval stands in for the interval of a cron schedule: long enough that
// an alarm on a missing run never fires between two runs of any sensible schedule.
const unknownInterval = 24 * time.Hour

// InitialLimit is the effective limit a new semaphore item starts with: the
// controller's initial limit within [ConcurrencyMin, MaxConcurrentExecutions], or 0
// when the stack does not adapt (acquire then enforces the maximum alone).
func (s Settings) InitialLimit() int {
	if !s.AdaptiveConcurrency {
		return 0
	}
	return min(s.MaxConcurrentExecutions, max(s.ConcurrencyMin, s.ConcurrencyInitial))
}

// DiscoverInterval and CleanupInterval are the time between two scheduled runs
// (rate schedules; a day for cron ones), what the alarms on their metrics size
// their periods by.
func (s Settings) DiscoverInterval() time.Duration {
	return orUnknown(rateInterval(s.DiscoverSchedule))
}

// CleanupInterval: see DiscoverInterval.
func (s Settings) CleanupInterval() time.Duration { return orUnknown(rateInterval(s.CleanupSchedule)) }

// rateInterval is the interval of a rate() schedule; false for cron or garbage.
func rateInterval(expr string) (time.Duration, bool) {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[m[2][0]]
	return time.Duration(n) * unit, true
}

func orUnknown(d time.Duration, ok bool) time.Duration {
	if !ok {
		return unknownInterval
	}
	return d
}
