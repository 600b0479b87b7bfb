package stacks

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CallsPerJob is the number of model calls one job makes (one per pass).
const CallsPerJob = 3

// lambdaMaxTimeout is the longest a Lambda function may run.
const lambdaMaxTimeout = 15 * time.Minute

// visibilityFactor is AWS's advice for SQS event sources: the queue's visibility
// timeout at least six times the consuming function's timeout, so a message is not
// redelivered while a throttled or retried invocation still owns it.
const visibilityFactor = 6

var (
	ratePattern   = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronPattern   = regexp.MustCompile(`^cron\(\S+( \S+){5}\)$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// modelPattern is the shape of a Bedrock model id ("openai.gpt-oss-120b-1:0"), a
	// cross-Region inference profile id ("us.anthropic.claude-…") or a model or profile
	// ARN. Whether the model exists where the stack deploys is `enrichctl preflight`'s
	// question: only Bedrock knows.
	modelPattern = regexp.MustCompile(`^(arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]*:(foundation-model|inference-profile|application-inference-profile)/[A-Za-z0-9.:_-]+|([a-z]{2,7}\.)?[a-z0-9-]+\.[a-z0-9][a-z0-9._:-]*)$`)
	// logRetentions are the values CloudWatch Logs accepts.
	logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// Upper bounds of the counts (see Validate).
const (
	maxMessageGroups         = 1000
	maxPartitionsPerRun      = 31 * 24
	maxJobsPerPartition      = 100_000
	maxAttempts              = 20
	maxThrottleRetryAttempts = 20
)

// Validate reports every problem of the settings at once, each naming the config key
// to edit and what would make it valid.
// snsTopicARN matches a topic ARN in any partition (aws, aws-cn, aws-us-gov, ...).
var snsTopicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\.fifo)?$`)

func (s Settings) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%s: %s", Namespace, key, fmt.Sprintf(format, args...)))
	}
	atLeast := func(key string, v, min int) {
		if v < min {
			bad(key, "is %d, must be at least %d", v, min)
		}
	}

	atLeast("maxConcurrentExecutions", s.MaxConcurrentExecutions, 1)
	atLeast("admissionBuffer", s.AdmissionBuffer, 0)
	if s.ConcurrencyMin < 1 || s.ConcurrencyMin > s.MaxConcurrentExecutions {
		bad("concurrencyMin", "is %d; it must be 1 to maxConcurrentExecutions (%d)", s.ConcurrencyMin, s.MaxConcurrentExecutions)
	}
	if s.ConcurrencyInitial < 1 || s.ConcurrencyInitial > s.MaxConcurrentExecutions {
		bad("concurrencyInitial", "is %d; it must be 1 to maxConcurrentExecutions (%d)", s.ConcurrencyInitial, s.MaxConcurrentExecutions)
	}
	atLeast("concurrencyStep", s.ConcurrencyStep, 1)
	if s.ConcurrencyDecrease <= 0 || s.ConcurrencyDecrease >= 1 {
		bad("concurrencyDecrease", "is %v; the factor applied on throttling must be strictly between 0 and 1", s.ConcurrencyDecrease)
	}
	if s.ConcurrencyCooldown < time.Second {
		bad("concurrencyCooldown", "is %s, must be at least 1s (about one model call, so one throttling episode cuts once)", s.ConcurrencyCooldown)
	}
	atLeast("concurrencySuccessesPerSlot", s.ConcurrencySuccessesPerSlot, 1)
	if s.SQSBatchSize < 1 || s.SQSBatchSize > 10 {
		bad("sqsBatchSize", "is %d; a FIFO queue's event source batch size must be 1 to 10", s.SQSBatchSize)
	}
	if s.InvokeMaxConcurrency < 2 || s.InvokeMaxConcurrency > 1000 {
		bad("invokeMaxConcurrency", "is %d; an SQS event source mapping's maximum concurrency must be 2 to 1000", s.InvokeMaxConcurrency)
	}
	if need := visibilityFactor * s.InvokeTimeout; s.QueueVisibility < need {
		bad("queueVisibility", "is %s; it must cover %d × invokeTimeout (%s) = %s, raise it or lower invokeTimeout",
			s.QueueVisibility, visibilityFactor, s.InvokeTimeout, need)
	}
	if s.QueueVisibility > 12*time.Hour {
		bad("queueVisibility", "is %s; SQS allows at most 12h", s.QueueVisibility)
	}
	if s.QueueMaxReceives < 1 || s.QueueMaxReceives > 1000 {
		bad("queueMaxReceives", "is %d; the redrive policy allows 1 to 1000", s.QueueMaxReceives)
	}
	// The upper bounds catch typos (an extra zero or three), not tuning.
	between := func(key string, v, min, max int, why string) {
		if v < min || v > max {
			bad(key, "is %d; use %d to %d (%s)", v, min, max, why)
		}
	}
	between("messageGroups", s.MessageGroups, 1, maxMessageGroups, "more groups than that only spreads jobs thinner")
	between("maxPartitionsPerRun", s.MaxPartitionsPerRun, 1, maxPartitionsPerRun, "a month of hourly partitions; backfill larger ranges with enrichctl backfill")
	between("maxJobsPerPartition", s.MaxJobsPerPartition, 1, maxJobsPerPartition, "one discover run must publish within discoverTimeout")
	between("maxAttempts", s.MaxAttempts, 1, maxAttempts, "each attempt re-runs the passes that failed")

	for key, d := range map[string]time.Duration{
		"passTimeout": s.PassTimeout, "discoverTimeout": s.DiscoverTimeout,
		"invokeTimeout": s.InvokeTimeout, "cleanupTimeout": s.CleanupTimeout,
	} {
		if d < time.Second || d > lambdaMaxTimeout || d%time.Second != 0 {
			bad(key, "is %s; a Lambda timeout is whole seconds from 1s to 15m", d)
		}
	}
	if need := CallsPerJob * s.PassTimeout; s.LockTimeout < need {
		bad("lockTimeout", "is %s; it must exceed the three passes of one job (3 × passTimeout = %s)", s.LockTimeout, need)
	}
	if s.LateLookback < 0 || s.LateLookback%time.Hour != 0 {
		bad("lateLookback", "is %s; use whole hours (Silver partitions are hourly), 0 turns the look-back off", s.LateLookback)
	}
	if s.SlotWait < time.Second {
		bad("slotWait", "is %s, must be at least 1s", s.SlotWait)
	}
	atLeast("slotWaitAttempts", s.SlotWaitAttempts, 1)
	for key, expr := range map[string]string{"discoverSchedule": s.DiscoverSchedule, "cleanupSchedule": s.CleanupSchedule} {
		if err := checkSchedule(expr); err != nil {
			bad(key, "%v", err)
		}
	}

	for i, m := range s.Models() {
		switch {
		case strings.TrimSpace(m) == "":
			bad(fmt.Sprintf("modelPass%d", i+1), "is empty; set a Bedrock model id such as %s", DefaultModel)
		case !modelPattern.MatchString(m):
			bad(fmt.Sprintf("modelPass%d", i+1), "is %q, not a Bedrock model id (provider.model-version such as %s), inference profile id or ARN", m, DefaultModel)
		}
	}
	for i, e := range s.ReasoningEfforts() {
		if !slices.Contains([]string{"", "low", "medium", "high"}, e) {
			bad(fmt.Sprintf("reasoningEffortPass%d", i+1), `is %q; use low, medium or high, or "" to send none (required for models without a reasoning effort)`, e)
		}
	}
	if !slices.Contains([]string{"", "default", "priority", "flex"}, s.ServiceTier) {
		bad("serviceTier", "is %q; use default, priority or flex (or leave it unset)", s.ServiceTier)
	}
	atLeast("bedrockRequestsPerMinute", s.BedrockRPM, 1)
	atLeast("bedrockTokensPerMinute", s.BedrockTPM, 0)
	if s.ExpectedPassLatency < time.Second {
		bad("expectedPassLatency", "is %s, must be at least 1s", s.ExpectedPassLatency)
	} else if s.BedrockRPM > 0 {
		if demand := s.RequestsPerMinute(); demand > float64(s.BedrockRPM) {
			fit := int(float64(s.BedrockRPM) * s.ExpectedPassLatency.Minutes())
			bad("maxConcurrentExecutions", "%d jobs at once make %.0f model requests per minute (each job calls the model %d times, ~%s per call), over the Bedrock quota of %d; lower it to %d or raise bedrockRequestsPerMinute after a quota increase",
				s.MaxConcurrentExecutions, demand, CallsPerJob, s.ExpectedPassLatency, s.BedrockRPM, fit)
		}
	}
	// A Step Functions retrier takes whole positive seconds and a non-negative
	// MaxAttempts (AWS Step Functions Developer Guide, "Handling errors in Step Functions
	// workflows", Retrier fields); MaxDelaySeconds caps the backoff, so it cannot be
	// below the first interval.
	for key, d := range map[string]time.Duration{"throttleRetryInterval": s.ThrottleRetryInterval, "throttleRetryMaxDelay": s.ThrottleRetryMaxDelay} {
		if d < time.Second || d%time.Second != 0 {
			bad(key, "is %s; a state machine retry interval is whole seconds, at least 1s", d)
		}
	}
	if s.ThrottleRetryMaxDelay < s.ThrottleRetryInterval {
		bad("throttleRetryMaxDelay", "is %s, below throttleRetryInterval (%s): it caps the backoff, raise it to at least the interval", s.ThrottleRetryMaxDelay, s.ThrottleRetryInterval)
	}
	between("throttleRetryAttempts", s.ThrottleRetryAttempts, 0, maxThrottleRetryAttempts, "0 turns the state machine's throttle retry off")
	atLeast("breakerFailures", s.BreakerFailures, 1)
	if s.BreakerCooldown < time.Second {
		bad("breakerCooldown", "is %s, must be at least 1s", s.BreakerCooldown)
	}

	for key, b := range map[string]string{"silverBucket": s.SilverBucket, "bronzeBucket": s.BronzeBucket} {
		if !bucketPattern.MatchString(b) {
			bad(key, "is %q; set the name of an existing S3 bucket (3-63 lowercase letters, digits, dots, hyphens)", b)
		}
	}
	switch {
	case strings.HasPrefix(s.SilverPrefix, "/"):
		bad("silverPrefix", "is %q; S3 keys do not start with /, so it would match nothing: %q", s.SilverPrefix, strings.TrimLeft(s.SilverPrefix, "/"))
	case s.SilverPrefix != "" && !strings.HasSuffix(s.SilverPrefix, "/"):
		bad("silverPrefix", "is %q; end it with /", s.SilverPrefix)
	}

	atLeast("alarmDlqMessages", s.AlarmDLQMessages, 1)
	if s.AlarmDLQMessageAge < time.Minute || s.AlarmDLQMessageAge >= QueueRetention {
		bad("alarmDlqMessageAge", "is %s; use 1m or more, below the DLQ's %s retention, or its messages expire before it fires", s.AlarmDLQMessageAge, QueueRetention)
	}
	for key, v := range map[string]int{"alarmFunctionErrors": s.AlarmFunctionErrors, "alarmPublishFailures": s.AlarmPublishFailures,
		"alarmUnreadableObjects": s.AlarmUnreadableObjects, "alarmStuckJobs": s.AlarmStuckJobs} {
		atLeast(key, v, 1)
	}
	if every, ok := rateInterval(s.DiscoverSchedule); ok && s.AlarmCursorLag < 2*every {
		need := 2 * every
		bad("alarmCursorLag", "is %s; it must allow two discovery runs (2 × the discoverSchedule interval = %s), or it fires between runs", s.AlarmCursorLag, need)
	}
	if need := CallsPerJob * s.PassTimeout; s.AlarmOldestJobAge <= need {
		bad("alarmOldestJobAge", "is %s; it must exceed the three passes of one job (3 × passTimeout = %s)", s.AlarmOldestJobAge, need)
	}
	if s.AlarmErrorRatePercent <= 0 || s.AlarmErrorRatePercent > 100 {
		bad("alarmErrorRatePercent", "is %v; use a percentage above 0 and at most 100", s.AlarmErrorRatePercent)
	}
	if s.AlarmP99Latency <= 0 || s.AlarmP99Latency >= s.PassTimeout {
		bad("alarmP99Latency", "is %s; it must be above 0 and below passTimeout (%s) or it can never fire before the timeout does", s.AlarmP99Latency, s.PassTimeout)
	}
	atLeast("alarmSfnFailures", s.AlarmSFNFailures, 1)
	if s.AlarmOldestMessageAge < time.Minute {
		bad("alarmOldestMessageAge", "is %s, must be at least 1m", s.AlarmOldestMessageAge)
	}
	atLeast("alarmThrottles", s.AlarmThrottles, 1)
	atLeast("alarmSemaphoreDrift", s.AlarmSemaphoreDrift, 1)
	if s.AlarmEmail != "" && !strings.Contains(s.AlarmEmail, "@") {
		bad("alarmEmail", "is %q, not an e-mail address", s.AlarmEmail)
	}
	if s.AlarmTopicARN != "" && !snsTopicARN.MatchString(s.AlarmTopicARN) {
		bad("alarmTopicArn", "is %q, not an SNS topic ARN", s.AlarmTopicARN)
	}
	if !slices.Contains(logRetentions, s.LogRetentionDays) {
		bad("logRetentionDays", "is %d; CloudWatch Logs accepts %v", s.LogRetentionDays, logRetentions)
	}

	if len(errs) == 0 {
		return nil
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return fmt.Errorf("stack %s settings are invalid: %w", s.Stack, errors.Join(errs...))
}

// RequestsPerMinute is the model request rate the semaphore limit produces when every
// slot is busy: each running job keeps one call in flight.
func (s Settings) RequestsPerMinute() float64 {
	return float64(s.MaxConcurrentExecutions) / s.ExpectedPassLatency.Minutes()
}

// DiscoveryJobsPerMinute is the most jobs discovery publishes per minute: one run per
// discoverSchedule period publishes at most maxPartitionsPerRun × maxJobsPerPartition
// (enrichctl backfill is not bound by it). +Inf for a cron schedule, whose period is
// not one number.
func (s Settings) DiscoveryJobsPerMinute() float64 {
	period, ok := schedulePeriod(s.DiscoverSchedule)
	if !ok {
		return math.Inf(1)
	}
	return float64(s.MaxPartitionsPerRun*s.MaxJobsPerPartition) / period.Minutes()
}

// schedulePeriod is the period of a rate() expression.
func schedulePeriod(expr string) (time.Duration, bool) {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, true
}

func checkSchedule(expr string) error {
	if m := ratePattern.FindStringSubmatch(expr); m != nil {
		if (m[1] == "1") != !strings.HasSuffix(m[2], "s") {
			return fmt.Errorf("is %q; EventBridge wants the singular unit for 1 and the plural otherwise (rate(1 hour), rate(15 minutes))", expr)
		}
		return nil
	}
	if cronPattern.MatchString(expr) {
		return nil
	}
	return fmt.Errorf("is %q; use rate(<n> <unit>) or cron(<6 fields>)", expr)
}
