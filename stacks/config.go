package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Namespace is the Pulumi config namespace of the project's own keys
// (`ai-enrichment:maxConcurrentExecutions` in Pulumi.<stack>.yaml).
const Namespace = "ai-enrichment"

// fields maps each config key (without namespace) to the Settings field it sets.
// Durations are Go duration strings ("180s", "30m"); tags is an object.
func fields(s *Settings) map[string]any {
	return map[string]any{
		"maxConcurrentExecutions":     &s.MaxConcurrentExecutions,
		"admissionBuffer":             &s.AdmissionBuffer,
		"sqsBatchSize":                &s.SQSBatchSize,
		"invokeMaxConcurrency":        &s.InvokeMaxConcurrency,
		"queueVisibility":             &s.QueueVisibility,
		"queueMaxReceives":            &s.QueueMaxReceives,
		"messageGroups":               &s.MessageGroups,
		"maxPartitionsPerRun":         &s.MaxPartitionsPerRun,
		"maxJobsPerPartition":         &s.MaxJobsPerPartition,
		"maxAttempts":                 &s.MaxAttempts,
		"adaptiveConcurrency":         &s.AdaptiveConcurrency,
		"concurrencyMin":              &s.ConcurrencyMin,
		"concurrencyInitial":          &s.ConcurrencyInitial,
		"concurrencyStep":             &s.ConcurrencyStep,
		"concurrencyDecrease":         &s.ConcurrencyDecrease,
		"concurrencyCooldown":         &s.ConcurrencyCooldown,
		"concurrencySuccessesPerSlot": &s.ConcurrencySuccessesPerSlot,
		"passTimeout":                 &s.PassTimeout,
		"discoverTimeout":             &s.DiscoverTimeout,
		"invokeTimeout":               &s.InvokeTimeout,
		"cleanupTimeout":              &s.CleanupTimeout,
		"lockTimeout":                 &s.LockTimeout,
		"lateLookback":                &s.LateLookback,
		"slotWait":                    &s.SlotWait,
		"slotWaitAttempts":            &s.SlotWaitAttempts,
		"discoverSchedule":            &s.DiscoverSchedule,
		"cleanupSchedule":             &s.CleanupSchedule,
		"modelPass1":                  &s.ModelPass1,
		"modelPass2":                  &s.ModelPass2,
		"modelPass3":                  &s.ModelPass3,
		"serviceTier":                 &s.ServiceTier,
		"reasoningEffortPass1":        &s.ReasoningEffortPass1,
		"reasoningEffortPass2":        &s.ReasoningEffortPass2,
		"reasoningEffortPass3":        &s.ReasoningEffortPass3,
		"bedrockRequestsPerMinute":    &s.BedrockRPM,
		"bedrockTokensPerMinute":      &s.BedrockTPM,
		"expectedPassLatency":         &s.ExpectedPassLatency,
		"breakerFailures":             &s.BreakerFailures,
		"breakerCooldown":             &s.BreakerCooldown,
		"throttleRetryInterval":       &s.ThrottleRetryInterval,
		"throttleRetryMaxDelay":       &s.ThrottleRetryMaxDelay,
		"throttleRetryAttempts":       &s.ThrottleRetryAttempts,
		"silverBucket":                &s.SilverBucket,
		"silverPrefix":                &s.SilverPrefix,
		"bronzeBucket":                &s.BronzeBucket,
		"alarmDlqMessages":            &s.AlarmDLQMessages,
		"alarmErrorRatePercent":       &s.AlarmErrorRatePercent,
		"alarmP99Latency":             &s.AlarmP99Latency,
		"alarmSfnFailures":            &s.AlarmSFNFailures,
		"alarmOldestMessageAge":       &s.AlarmOldestMessageAge,
		"alarmThrottles":              &s.AlarmThrottles,
		"alarmSemaphoreDrift":         &s.AlarmSemaphoreDrift,
		"alarmDlqMessageAge":          &s.AlarmDLQMessageAge,
		"alarmFunctionErrors":         &s.AlarmFunctionErrors,
		"alarmPublishFailures":        &s.AlarmPublishFailures,
		"alarmUnreadableObjects":      &s.AlarmUnreadableObjects,
		"alarmCursorLag":              &s.AlarmCursorLag,
		"alarmOldestJobAge":           &s.AlarmOldestJobAge,
		"alarmStuckJobs":              &s.AlarmStuckJobs,
		"alarmEmail":                  &s.AlarmEmail,
		"alarmTopicArn":               &s.AlarmTopicARN,
		"logRetentionDays":            &s.LogRetentionDays,
		"logExecutionData":            &s.LogExecutionData,
		"tags":                        &s.Tags,
	}
}

// Keys lists every config key the project reads, namespaced and sorted.
func Keys() []string {
	var keys []string
	for k := range fields(&Settings{}) {
		keys = append(keys, Namespace+":"+k)
	}
	sort.Strings(keys)
	return keys
}

// FromConfig applies namespaced config values (as Pulumi hands them to a program:
// strings, objects as JSON) over the stack's defaults and validates the result. Keys
// of other namespaces (aws:region) are ignored; unknown keys of ours are errors so a
// typo does not silently keep a default.
func FromConfig(stack string, cfg map[string]string) (Settings, error) {
	s, err := Defaults(stack)
	if err != nil {
		return Settings{}, err
	}
	f := fields(&s)
	for _, key := range sortedKeys(cfg) {
		name, ok := strings.CutPrefix(key, Namespace+":")
		if !ok {
			continue
		}
		dst, known := f[name]
		if !known {
			return Settings{}, unknownKey(stack, key, name, f)
		}
		if err := set(dst, cfg[key]); err != nil {
			return Settings{}, fmt.Errorf("stack %s: config %s: %w", stack, key, err)
		}
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// unknownKey names the nearest known key when one is close, else every key.
func unknownKey(stack, key, name string, f map[string]any) error {
	best, bestDist := "", -1
	for k := range f {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); bestDist < 0 || d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	if bestDist <= max(2, len(name)/4) {
		return fmt.Errorf("stack %s: unknown config key %s; did you mean %s:%s?", stack, key, Namespace, best)
	}
	known := make([]string, 0, len(f))
	for k := range f {
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Errorf("stack %s: unknown config key %s; the keys of %s are %s", stack, key, Namespace, strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Load reads the settings of a stack from the bytes of its Pulumi.<stack>.yaml.
func Load(stack string, yamlBytes []byte) (Settings, error) {
	cfg, err := ConfigMap(yamlBytes)
	if err != nil {
		return Settings{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	return FromConfig(stack, cfg)
}

// CheckName refuses a stack name the project does not define, before it is joined
// into a resource name or a file path (`prod/../dev`).
func CheckName(stack string) error {
	if !slices.Contains(Names, stack) {
		return fmt.Errorf("unknown stack %q: want %s", stack, strings.Join(Names, ", "))
	}
	return nil
}

// LoadFile reads repoRoot/Pulumi.<stack>.yaml.
func LoadFile(repoRoot, stack string) (Settings, error) {
	if err := CheckName(stack); err != nil {
		return Settings{}, err
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+stack+".yaml"))
	if err != nil {
		return Settings{}, fmt.Errorf("read stack settings: %w", err)
	}
	return Load(stack, b)
}

// RegionKey is the config key of the AWS Region a stack deploys to.
const RegionKey = "aws:region"

// Region reads the AWS Region a stack file deploys to ("" when it names none).
func Region(yamlBytes []byte) (string, error) {
	cfg, err := ConfigMap(yamlBytes)
	if err != nil {
		return "", err
	}
	return cfg[RegionKey], nil
}

// ConfigMap flattens the `config:` section of a stack file into the map Pulumi hands
// a program: scalars as text, objects and lists as JSON. An encrypted value
// (`key: {secure: …}`) only Pulumi can decrypt: it is left out, so the setting keeps
// its default outside `pulumi up` instead of failing every command that reads the file.
func ConfigMap(yamlBytes []byte) (map[string]string, error) {
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(yamlBytes, &doc); err != nil {
		return nil, fmt.Errorf("parse stack file: %w", err)
	}
	cfg := make(map[string]string, len(doc.Config))
	for k, v := range doc.Config {
		if m, ok := v.(map[string]any); ok && len(m) == 1 && m["secure"] != nil {
			continue
		}
		switch v := v.(type) {
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("config %s: %w", k, err)
			}
			cfg[k] = string(b)
		default:
			cfg[k] = fmt.Sprint(v)
		}
	}
	return cfg, nil
}

func set(dst any, v string) error {
	switch p := dst.(type) {
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", v)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", v)
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p = b
	case *string:
		*p = v
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("want a duration such as 180s or 30m, got %q", v)
		}
		*p = d
	case *map[string]string:
		m := map[string]string{}
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf("want an object of strings: %w", err)
		}
		*p = m
	default:
		return fmt.Errorf("unsupported setting type %T", dst)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
