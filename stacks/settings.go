// Package stacks holds the typed per-stack settings of the pipeline, their defaults
// per environment and their validation.
package stacks

import "time"

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
	SlotWait         time.Duration // wait between slot acquisition attempts
	SlotWaitAttempts int           // bounded number of waits before giving up
	DiscoverSchedule string
	CleanupSchedule  string

	// Models.
	ModelPass1  string
	ModelPass2  string
	ModelPass3  string
	ServiceTier string // "", "default", "priority", "flex"
	BedrockRPM  int    // requests per minute quota
	BedrockTPM  int    // tokens per minute quota (0: unknown)
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

	// Alarms.
	AlarmDLQMessages      int
	AlarmErrorRatePercent float64
	AlarmP99Latency       time.Duration
	AlarmSFNFailures      int // in 5 minutes
	AlarmOldestMessageAge time.Duration
	AlarmThrottles        int // model throttles (EMF ModelThrottles) in 5 minutes
	AlarmSemaphoreDrift   int // |count − holders| reported by cleanup
	AlarmEmail            string
	AlarmTopicARN         string
	LogRetentionDays      int
	LogExecutionData      bool
	Tags                  map[string]string
}
