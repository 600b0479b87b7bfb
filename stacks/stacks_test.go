package stacks

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestStackFilesValidate(t *testing.T) {
	for _, tc := range []struct {
		stack       string
		concurrency int
		batch       int
		passTimeout time.Duration
	}{
		{"dev", 5, 1, 180 * time.Second},
		{"staging", 20, 5, 180 * time.Second},
		{"prod", 50, 10, 300 * time.Second},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			s, err := LoadFile("..", tc.stack)
			if err != nil {
				t.Fatal(err)
			}
			if s.MaxConcurrentExecutions != tc.concurrency || s.SQSBatchSize != tc.batch || s.PassTimeout != tc.passTimeout {
				t.Errorf("got concurrency %d, batch %d, pass timeout %s", s.MaxConcurrentExecutions, s.SQSBatchSize, s.PassTimeout)
			}
			if s.Tags["Environment"] != tc.stack {
				t.Errorf("tags = %v", s.Tags)
			}
			for i, m := range s.Models() {
				if m != DefaultModel {
					t.Errorf("model of pass %d = %q", i+1, m)
				}
			}
		})
	}
}

const validYAML = `
config:
  aws:region: us-east-1
  ai-enrichment:silverBucket: silver-bucket
  ai-enrichment:bronzeBucket: bronze-bucket
`

func TestLoadRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   string
		value string
		want  string
	}{
		{"batch over FIFO limit", "sqsBatchSize", "12", "ai-enrichment:sqsBatchSize: is 12; a FIFO queue's event source batch size must be 1 to 10"},
		{"visibility below invoke timeout", "queueVisibility", "60s", "queueVisibility: is 1m0s; it must cover 6 × invokeTimeout (30s) = 3m0s"},
		{"quota too small", "maxConcurrentExecutions", "80", "80 jobs at once make 160 model requests per minute (each job calls the model 3 times, ~30s per call), over the Bedrock quota of 100; lower it to 50"},
		{"tiny quota", "bedrockRequestsPerMinute", "5", "lower it to 2 "},
		{"bad schedule", "discoverSchedule", "rate(1 hours)", "discoverSchedule: is \"rate(1 hours)\"; EventBridge wants the singular unit"},
		{"garbage schedule", "cleanupSchedule", "every 5 minutes", "use rate(<n> <unit>) or cron(<6 fields>)"},
		{"empty model", "modelPass2", "", "modelPass2: is empty"},
		{"unknown tier", "serviceTier", "gold", "serviceTier: is \"gold\""},
		{"unknown reasoning effort", "reasoningEffortPass3", "max", "reasoningEffortPass3: is \"max\"; use low, medium or high, or \"\" to send none"},
		{"timeout over 15 minutes", "passTimeout", "20m", "passTimeout: is 20m0s; a Lambda timeout is whole seconds from 1s to 15m"},
		{"lock shorter than a job", "lockTimeout", "5m", "lockTimeout: is 5m0s; it must exceed the three passes of one job"},
		{"p99 alarm above timeout", "alarmP99Latency", "200s", "alarmP99Latency: is 3m20s; it must be above 0 and below passTimeout"},
		{"retention", "logRetentionDays", "10", "logRetentionDays: is 10"},
		{"unknown key", "maxConcurency", "3", "unknown config key ai-enrichment:maxConcurency"},
		{"misspelt key suggests the nearest", "maxConcurentExecutions", "3", "did you mean ai-enrichment:maxConcurrentExecutions?"},
		{"unknown key far from any lists the keys", "colour", "3", "the keys of ai-enrichment are "},
		{"negative throttle attempts", "throttleRetryAttempts", "-3", "throttleRetryAttempts: is -3; use 0 to 20"},
		{"throttle interval", "throttleRetryInterval", "500ms", "throttleRetryInterval: is 500ms; a state machine retry interval is whole seconds"},
		{"throttle max delay below interval", "throttleRetryMaxDelay", "5s", "throttleRetryMaxDelay: is 5s, below throttleRetryInterval (15s)"},
		{"silver prefix with a leading slash", "silverPrefix", "/linkedin/", `silverPrefix: is "/linkedin/"; S3 keys do not start with /`},
		{"not a model id", "modelPass1", "gpt 5", `modelPass1: is "gpt 5", not a Bedrock model id`},
		{"absurd groups", "messageGroups", "1000000", "messageGroups: is 1000000; use 1 to 1000"},
		{"absurd jobs", "maxJobsPerPartition", "100000000", "maxJobsPerPartition: is 100000000; use 1 to 100000"},
		{"absurd partitions", "maxPartitionsPerRun", "100000", "maxPartitionsPerRun: is 100000; use 1 to 744"},
		{"not an integer", "messageGroups", "many", "config ai-enrichment:messageGroups: want an integer"},
		{"not a duration", "slotWait", "20", "want a duration such as 180s or 30m"},
		{"bad bucket", "bronzeBucket", "Bronze_Bucket", "bronzeBucket: is \"Bronze_Bucket\""},
		{"mapping concurrency", "invokeMaxConcurrency", "1", "invokeMaxConcurrency: is 1"},
		{"not a topic", "alarmTopicArn", "arn:aws:sqs:us-east-1:123456789012:q", "alarmTopicArn: is \"arn:aws:sqs"},
		{"controller minimum above the maximum", "concurrencyMin", "6", "concurrencyMin: is 6; it must be 1 to maxConcurrentExecutions (5)"},
		{"controller initial limit above the maximum", "concurrencyInitial", "6", "concurrencyInitial: is 6; it must be 1 to maxConcurrentExecutions (5)"},
		{"controller factor", "concurrencyDecrease", "1.5", "concurrencyDecrease: is 1.5; the factor applied on throttling must be strictly between 0 and 1"},
		{"controller cooldown", "concurrencyCooldown", "0s", "concurrencyCooldown: is 0s, must be at least 1s"},
		{"DLQ age beyond retention", "alarmDlqMessageAge", "336h", "alarmDlqMessageAge: is 336h0m0s; use 1m or more, below the DLQ's 336h0m0s retention"},
		{"cursor lag between two runs", "alarmCursorLag", "90m", "alarmCursorLag: is 1h30m0s; it must allow two discovery runs (2 × the discoverSchedule interval = 2h0m0s)"},
		{"job age shorter than a job", "alarmOldestJobAge", "9m", "alarmOldestJobAge: is 9m0s; it must exceed the three passes of one job"},
		{"stuck threshold zero", "alarmStuckJobs", "0", "alarmStuckJobs: is 0, must be at least 1"},
		{"function errors zero", "alarmFunctionErrors", "0", "alarmFunctionErrors: is 0, must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]string{
				"aws:region":                 "us-east-1",
				"ai-enrichment:silverBucket": "silver-bucket",
				"ai-enrichment:bronzeBucket": "bronze-bucket",
			}
			cfg[Namespace+":"+tc.key] = tc.value
			_, err := FromConfig("dev", cfg)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadAppliesValues(t *testing.T) {
	s, err := Load("staging", []byte(validYAML+`  ai-enrichment:expectedPassLatency: 45s
  ai-enrichment:alarmErrorRatePercent: 2.5
  ai-enrichment:logExecutionData: true
  ai-enrichment:discoverSchedule: cron(0 * * * ? *)
  ai-enrichment:reasoningEffortPass2: high
  ai-enrichment:reasoningEffortPass3: ""
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.ExpectedPassLatency != 45*time.Second || s.AlarmErrorRatePercent != 2.5 || !s.LogExecutionData || s.DiscoverSchedule != "cron(0 * * * ? *)" {
		t.Errorf("settings not applied: %+v", s)
	}
	if got := s.ReasoningEfforts(); got[0] != "low" || got[1] != "high" || got[2] != "" {
		t.Errorf("reasoning efforts %q: want the default low, then high and none as set", got)
	}
	if s.MaxConcurrentExecutions != 20 {
		t.Errorf("staging default concurrency lost: %d", s.MaxConcurrentExecutions)
	}
}

// A topic in another partition is a topic (issue 12 item 10: arn:aws was hard-coded).
func TestAlarmTopicInAnyPartition(t *testing.T) {
	for _, arn := range []string{"arn:aws:sns:us-east-1:123456789012:alarms", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms",
		"arn:aws-cn:sns:cn-north-1:123456789012:alarms"} {
		cfg := map[string]string{"aws:region": "us-east-1", "ai-enrichment:silverBucket": "silver-bucket",
			"ai-enrichment:bronzeBucket": "bronze-bucket", Namespace + ":alarmTopicArn": arn}
		if _, err := FromConfig("dev", cfg); err != nil {
			t.Errorf("%s: %v", arn, err)
		}
	}
}

func TestModelIDShapesAccepted(t *testing.T) {
	for _, id := range []string{"openai.gpt-oss-120b-1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-opus-4-5-20251101-v1:0",
		"arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"} {
		s, err := Defaults("dev")
		if err != nil {
			t.Fatal(err)
		}
		s.SilverBucket, s.BronzeBucket, s.ModelPass1 = "silver-bucket", "bronze-bucket", id
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestSecureValueIsLeftOut(t *testing.T) {
	s, err := Load("dev", []byte(validYAML+`  ai-enrichment:alarmEmail:
    secure: AAABADl2fQ==
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.AlarmEmail != "" {
		t.Errorf("alarmEmail = %q, want the default", s.AlarmEmail)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"qa", "prod/../dev", "", "../Pulumi"} {
		if err := CheckName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
		if _, err := LoadFile(t.TempDir(), name); err == nil || !strings.Contains(err.Error(), "unknown stack") {
			t.Errorf("LoadFile(%q): %v", name, err)
		}
	}
}

func TestUnknownStack(t *testing.T) {
	if _, err := Load("qa", []byte(validYAML)); err == nil || !strings.Contains(err.Error(), `unknown stack "qa"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestKeysAreNamespaced(t *testing.T) {
	keys := Keys()
	if len(keys) != len(fields(&Settings{})) {
		t.Fatalf("%d keys", len(keys))
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, Namespace+":") {
			t.Errorf("key %q lacks the namespace", k)
		}
	}
}

func TestPlan(t *testing.T) {
	base, err := Load("prod", []byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	usage := Usage{
		InputTokens:  [3]int{2000, 3000, 4000},
		OutputTokens: [3]int{1000, 1000, 2000},
		Prices:       map[string]Price{DefaultModel: {InputPerMTok: 0.15, OutputPerMTok: 0.60}},
	}
	for _, tc := range []struct {
		name     string
		tune     func(*Settings)
		jobs     int
		binding  string
		perMin   float64
		hours    float64
		priced   bool
		per1000  float64
		tokensOK bool
	}{
		{"requests bind at the quota", func(s *Settings) { s.BedrockRPM = 60 }, 1200, LimitRequests, 20, 1, true, 3.75, false},
		{"concurrency binds when slots are few", func(s *Settings) { s.MaxConcurrentExecutions = 10 }, 400, LimitConcurrency, 20.0 / 3, 1, true, 3.75, false},
		{"tokens bind when the quota is small", func(s *Settings) { s.BedrockTPM = 130000 }, 600, LimitTokens, 10, 1, true, 3.75, true},
		{"unpriced model", func(s *Settings) { s.ModelPass3, s.BedrockRPM = "other.model-v1:0", 60 }, 120, LimitRequests, 20, 0.1, false, 1.95, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.tune(&s)
			c := Plan(s, tc.jobs, usage)
			if c.Binding != tc.binding {
				t.Errorf("binding = %q, want %q", c.Binding, tc.binding)
			}
			if !near(c.JobsPerMinute, tc.perMin) || !near(c.Hours, tc.hours) {
				t.Errorf("jobs/min = %v, hours = %v; want %v, %v", c.JobsPerMinute, c.Hours, tc.perMin, tc.hours)
			}
			if c.Priced != tc.priced || !near(c.CostPer1000Jobs, tc.per1000) {
				t.Errorf("cost = %v (priced %v), want %v (%v)", c.CostPer1000Jobs, c.Priced, tc.per1000, tc.priced)
			}
			if math.IsInf(c.ByTokens, 1) == tc.tokensOK {
				t.Errorf("ByTokens = %v", c.ByTokens)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestAccountConcurrency(t *testing.T) {
	var all []Settings
	for _, stack := range []string{"dev", "staging", "prod"} {
		s, err := LoadFile("..", stack)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for i, want := range []int{7, 22, 52} {
		if got := all[i].ReservedConcurrency(); got != want {
			t.Errorf("%s reserves %d, want %d", all[i].Stack, got, want)
		}
		if got := Plan(all[i], 1, Usage{}).AccountConcurrency; got != want+UnreservedConcurrencyFloor {
			t.Errorf("%s alone needs an account limit of %d, want %d", all[i].Stack, got, want+UnreservedConcurrencyFloor)
		}
	}
	if got := RequiredAccountConcurrency(all); got != 181 {
		t.Errorf("three stacks in one account need %d, want 181", got)
	}
	for _, tc := range []struct {
		name string
		acct AccountConcurrency
		want int
	}{
		{"default quota, nothing reserved", AccountConcurrency{Unreserved: 1000}, 0},
		{"exactly enough", AccountConcurrency{Unreserved: 181}, 0},
		{"one short", AccountConcurrency{Unreserved: 180}, 1},
		{"a new account's small quota", AccountConcurrency{Unreserved: 50}, 131},
		{"a redeploy gets its own reservation back", AccountConcurrency{Unreserved: 100, ReservedToday: 81}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.acct.Shortfall(all); got != tc.want {
				t.Errorf("shortfall %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScheduleIntervals(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
	}{
		{"rate(1 hour)", time.Hour},
		{"rate(15 minutes)", 15 * time.Minute},
		{"rate(2 days)", 48 * time.Hour},
		{"cron(0 * * * ? *)", unknownInterval},
	} {
		s := Settings{DiscoverSchedule: tc.expr, CleanupSchedule: tc.expr}
		if got := s.DiscoverInterval(); got != tc.want || s.CleanupInterval() != tc.want {
			t.Errorf("%s: interval %s, want %s", tc.expr, got, tc.want)
		}
	}
}
