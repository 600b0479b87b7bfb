// Package contract holds the names, keys, payloads and status values shared by the
// handlers, the state machine definition and the Pulumi program, so that code and
// infrastructure agree on one set of constants.
package contract

import (
	"fmt"
	"regexp"
)

// Project is the Pulumi project name and the first part of every resource name.
const Project = "ai-enrichment"

// Names are the per-stack resource names, `{project}-{stack}-{suffix}`.
type Names struct {
	Stack            string
	SemaphoreTable   string
	StatusTable      string
	Queue            string
	DeadLetterQueue  string
	StateMachine     string
	StateMachineRole string
	DiscoverFunction string
	InvokeFunction   string
	EnrichFunction   string
	CleanupFunction  string
	Dashboard        string
}

// NamesFor derives every resource name of a stack from the naming convention.
func NamesFor(stack string) Names {
	p := Project + "-" + stack + "-"
	return Names{
		Stack:            stack,
		SemaphoreTable:   p + "semaphore",
		StatusTable:      p + "status",
		Queue:            p + "jobs.fifo",
		DeadLetterQueue:  p + "jobs-dlq.fifo",
		StateMachine:     p + "pipeline",
		StateMachineRole: p + "pipeline-sfn",
		DiscoverFunction: p + "discover-partitions",
		InvokeFunction:   p + "invoke-enrichment",
		EnrichFunction:   p + "enrich-partition",
		CleanupFunction:  p + "cleanup-locks",
		Dashboard:        p + "dashboard",
	}
}

// Environment variable names read by the handlers and set by the Pulumi program.
const (
	EnvSemaphoreTable  = "SEMAPHORE_TABLE"
	EnvStatusTable     = "STATUS_TABLE"
	EnvQueueURL        = "QUEUE_URL"
	EnvStateMachineARN = "STATE_MACHINE_ARN"
	EnvSilverBucket    = "SILVER_BUCKET"
	EnvSilverPrefix    = "SILVER_PREFIX"
	EnvBronzeBucket    = "BRONZE_BUCKET"
	EnvModelPass1      = "MODEL_PASS1"
	EnvModelPass2      = "MODEL_PASS2"
	EnvModelPass3      = "MODEL_PASS3"
	EnvServiceTier     = "BEDROCK_SERVICE_TIER"
	// EnvReasoningEffortPass1..3 are "", low, medium or high per pass.
	EnvReasoningEffortPass1 = "BEDROCK_REASONING_EFFORT_PASS1"
	EnvReasoningEffortPass2 = "BEDROCK_REASONING_EFFORT_PASS2"
	EnvReasoningEffortPass3 = "BEDROCK_REASONING_EFFORT_PASS3"
	EnvMaxConcurrency       = "MAX_CONCURRENT_EXECUTIONS"
	// EnvConcurrencyInitial is the initial effective limit a deploy gives the semaphore
	// item (stacks.Settings.InitialLimit); 0 when the stack does not adapt.
	EnvConcurrencyInitial = "CONCURRENCY_INITIAL"
	// EnvConcurrencyController holds the controller settings of EnrichPartition as JSON
	// (controller.EnvValue); empty when the stack does not adapt its concurrency.
	EnvConcurrencyController = "CONCURRENCY_CONTROLLER"
	EnvAdmissionBuffer       = "ADMISSION_BUFFER"
	EnvMaxPartitions         = "MAX_PARTITIONS_PER_RUN"
	EnvMaxJobs               = "MAX_JOBS_PER_PARTITION"
	EnvMaxAttempts           = "MAX_ATTEMPTS"
	EnvMessageGroups         = "MESSAGE_GROUPS"
	EnvLockTimeout           = "LOCK_TIMEOUT_SECONDS"
	EnvBreakerFailures       = "CIRCUIT_BREAKER_FAILURES"
	EnvBreakerCooldown       = "CIRCUIT_BREAKER_COOLDOWN_SECONDS"
	EnvPassTimeout           = "PASS_TIMEOUT_SECONDS"
	// EnvLateLookbackHours (stack setting lateLookback) sets how far behind its cursor discovery looks
	// for late Silver; 0 turns the look-back off.
	EnvLateLookbackHours = "LATE_LOOKBACK_HOURS"
	EnvStack             = "STACK"
	EnvAWSEndpointURL    = "AWS_ENDPOINT_URL"
	DefaultSilverPrefix  = "linkedin/"
	MetricsNamespace     = "AIEnrichment"
	DefaultCursorKeyName = "ai_enrichment/_cursor/discover.json"
)

// Semaphore table layout (kept from the original so operators recognise it).
const (
	SemaphoreKey      = "LockName"
	SemaphoreLockName = "ProcessingLock"
	SemaphoreCount    = "currentlockcount"
	// SemaphoreMax is the configured maximum: a deploy writes it, nothing else does.
	SemaphoreMax = "maxlockcount"
	// SemaphoreLimit is the effective limit the concurrency controller moves between
	// its minimum and SemaphoreMax; acquire compares the count with both.
	SemaphoreLimit = "effectivelimit"
	// SemaphoreLimitChangedAt (RFC 3339), SemaphoreLimitDecreasedAt (of the last
	// decrease) and SemaphoreSuccessStreak (successful model calls since the last
	// change or throttle) are the controller's memory.
	SemaphoreLimitChangedAt   = "limitchangedat"
	SemaphoreLimitDecreasedAt = "limitdecreasedat"
	SemaphoreSuccessStreak    = "successstreak"
	// SemaphorePausedUntil (RFC 3339) and SemaphorePauseMillis (its length) are the
	// controller's stack-wide hold-off after a throttle: no pass calls the model
	// before SemaphorePausedUntil.
	SemaphorePausedUntil = "pauseduntil"
	SemaphorePauseMillis = "pausems"
	// SemaphoreHolderPrefix starts the name of every holder attribute (the execution
	// name follows), so no other attribute of the item can be taken for a holder.
	SemaphoreHolderPrefix = "holder:"
	// SemaphoreWaiters lists the task tokens of executions waiting for a slot, oldest
	// first: a release hands its slot to the first (workflow, WaitForSlot).
	SemaphoreWaiters = "slotwaiters"
)

// SemaphoreSeed is the number attributes of the semaphore item a deploy creates
// (besides its key): no slot held, the configured maximum and, when initial > 0 (the
// stack adapts its concurrency), the controller's initial limit as the effective one,
// so acquire enforces it from the first execution on instead of the maximum until a
// pass first reports. The Pulumi program and the local cloud render it.
func SemaphoreSeed(maximum, initial int) map[string]int {
	seed := map[string]int{SemaphoreCount: 0, SemaphoreMax: maximum}
	if initial > 0 {
		seed[SemaphoreLimit] = initial
	}
	return seed
}

// Metric names (namespace MetricsNamespace) shared by the emitters and the alarms and
// dashboard. CleanupLocks emits the first two with dimension Stack; the drift alarm
// reads MetricSemaphoreDrift.
const (
	MetricSemaphoreDrift = "SemaphoreDrift"      // |currentlockcount - holders| found by a sweep
	MetricSlotsReleased  = "OrphanSlotsReleased" // holders of ended or unknown executions released
	// MetricModelThrottles counts throttled model calls (every attempt, retried or
	// not); the throttle alarm sums it over all dimensions.
	MetricModelThrottles = "ModelThrottles"
	// MetricSlotsInUse is the semaphore count as last read (the dashboard plots its
	// maximum against the limit).
	MetricSlotsInUse = "SlotsInUse"

	// Lifecycle, discovery and concurrency metrics, each with dimension Stack only.
	// Declared here first so emitters (handlers) and readers (alarms, dashboard,
	// enrichctl) share one spelling.
	MetricStuckJobs         = "StuckJobs"                      // non-terminal rows with no live message or execution, per sweep
	MetricOldestJobAge      = "OldestNonTerminalJobAgeSeconds" // age of the oldest QUEUED/PENDING/IN_PROGRESS row, per sweep
	MetricJobsRequeued      = "JobsRequeued"                   // stuck rows made live again by the reaper
	MetricJobsPublished     = "JobsPublished"                  // messages discovery published, per run
	MetricPublishFailures   = "DiscoveryPublishFailures"       // jobs discovery marked but could not publish, per run
	MetricUnreadableObjects = "UnreadableSilverObjects"        // Silver objects skipped as unreadable, per run
	MetricCursorLag         = "DiscoveryCursorLagSeconds"      // now minus the newest partition the cursor has passed
	MetricAttemptsDeferred  = "AttemptsDeferred"               // attempts ended for capacity (throttle, breaker, no slot), not counted
	MetricModelCalls        = "ModelCalls"                     // model call attempts (the denominator of the throttled share)
	MetricEffectiveLimit    = "EffectiveConcurrencyLimit"      // the semaphore's effective limit as the controller set it
)

// Status table layout.
const (
	StatusKey         = "job_posting_id"
	StatusIndex       = "status-index"
	AttrOverallStatus = "overallStatus"
	AttrUpdatedAt     = "updatedAt"
	AttrCreatedAt     = "createdAt"
	AttrAttempts      = "attempts"
	AttrExecution     = "currentExecutionId"
	AttrLastError     = "lastError"
	AttrPartition     = "partition"
	// AttrPublication counts the publications of a job: every mark that hands the job to
	// a new message or execution adds one, so execution names are never reused.
	AttrPublication = "publication"
	// AttrMarkToken is the token of the writer of the last publication: a writer whose
	// acknowledgement was lost recognises its own committed mark on the SDK's retry.
	AttrMarkToken = "markToken"
	// AttrSent is the publication whose queue message a publisher has sent (written
	// after SendMessage answered): a QUEUED row with a newer publication was marked
	// and never sent (a publisher died in between), one without the attribute is
	// unknown (deferred by the state machine, or written before it existed).
	AttrSent           = "sentPublication"
	AttrPassStatus     = "status"
	AttrPassBronzeKey  = "bronzeKey"
	AttrPassModel      = "model"
	AttrPassInTokens   = "inputTokens"
	AttrPassOutTokens  = "outputTokens"
	AttrPassCost       = "costUsd"
	AttrPassCostKnown  = "costKnown" // false: the model has no recorded price, costUsd is not a real 0
	AttrPassCached     = "cached"
	AttrPassFinishedAt = "completedAt"
)

// Fields of the lastError map written by the state machine when an attempt fails:
// the step that failed (pass1..pass3, start, slot) and the Step Functions error
// object {"Error", "Cause"} as JSON text.
const (
	AttrErrorStep   = "step"
	AttrErrorDetail = "detail"
)

// Overall job status values.
const (
	StatusQueued            = "QUEUED" // published by discovery, no execution yet
	StatusPending           = "PENDING"
	StatusInProgress        = "IN_PROGRESS"
	StatusCompleted         = "COMPLETED"
	StatusFailed            = "FAILED"
	StatusPermanentlyFailed = "PERMANENTLY_FAILED"
)

// Pass identifies one of the three LLM passes.
type Pass string

// The three passes, in order.
const (
	Pass1 Pass = "pass1"
	Pass2 Pass = "pass2"
	Pass3 Pass = "pass3"
)

// Passes lists the passes in execution order.
var Passes = []Pass{Pass1, Pass2, Pass3}

// Section is the top-level key of a pass's result.
func (p Pass) Section() string {
	switch p {
	case Pass1:
		return "extraction"
	case Pass2:
		return "inference"
	case Pass3:
		return "analysis"
	}
	return ""
}

// Valid reports whether p is one of the three passes.
func (p Pass) Valid() bool { return p.Section() != "" }

// ParsePass validates a pass name.
func ParsePass(s string) (Pass, error) {
	p := Pass(s)
	if !p.Valid() {
		return "", fmt.Errorf("unknown pass %q (want pass1, pass2 or pass3)", s)
	}
	return p, nil
}

var jobIDPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// ValidateJobID rejects anything but 1 to 20 ASCII digits: job ids end up in S3 keys,
// execution names, DynamoDB keys and prompts.
func ValidateJobID(id string) error {
	if !jobIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q must be 1 to 20 digits", ErrInvalidJobID, id)
	}
	return nil
}
