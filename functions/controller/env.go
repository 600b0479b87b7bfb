package controller

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

// envSettings is the JSON form of Settings in contract.EnvConcurrencyController.
type envSettings struct {
	Min              int     `json:"min"`
	Max              int     `json:"max"`
	Step             int     `json:"step"`
	Decrease         float64 `json:"decrease"`
	CooldownSeconds  float64 `json:"cooldown_seconds"`
	SuccessesPerSlot int     `json:"successes_per_slot"`
}

// EnvValue is what the Pulumi program puts in contract.EnvConcurrencyController for
// a stack: its controller settings, or "" when the stack does not adapt. (Encoding
// cannot fail: every field is an int or a finite float of validated settings.)
func EnvValue(s stacks.Settings) string {
	if !s.AdaptiveConcurrency {
		return ""
	}
	c := FromStack(s)
	b, _ := json.Marshal(envSettings{c.Min, c.Max, c.Step, c.Decrease, c.Cooldown.Seconds(), c.SuccessesPerSlot})
	return string(b)
}

// FromEnv decodes EnvValue; ok is false when the value is empty (no controller).
func FromEnv(v string) (s Settings, ok bool, err error) {
	if v == "" {
		return Settings{}, false, nil
	}
	var e envSettings
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return Settings{}, false, fmt.Errorf("controller settings %q: %w", v, err)
	}
	s = Settings{Min: e.Min, Max: e.Max, Step: e.Step, Decrease: e.Decrease, Cooldown: time.Duration(e.CooldownSeconds * float64(time.Second)), SuccessesPerSlot: e.SuccessesPerSlot}
	if s.Min < 1 || s.Max < s.Min || s.Step < 1 || s.Decrease <= 0 || s.Decrease >= 1 || s.Cooldown <= 0 || s.SuccessesPerSlot < 1 {
		return Settings{}, false, fmt.Errorf("controller settings %q: out of range", v)
	}
	return s, true, nil
}
