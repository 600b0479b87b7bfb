package enrichpartition

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Options configure the handler; OptionsFromEnv reads them from the Lambda environment
// the Pulumi program sets.
type Options struct {
	Stack        string // metric dimension, so stacks sharing an account stay apart
	BronzeBucket string
	Models       map[contract.Pass]string
	ServiceTier  string
	// ReasoningEfforts per pass: "", low, medium or high (refused for models without one).
	ReasoningEfforts map[contract.Pass]string
	BreakerFailures  int
	BreakerCooldown  time.Duration
	// ModelReadTimeout bounds a silent model connection. The calls of one pass are
	// bounded together by the invocation's deadline (deadline.go), not by this.
	ModelReadTimeout time.Duration
	// AcceptEmulated lets the local cloud's emulator answers in Bronze serve as cache
	// hits; only the local runtime sets it, when the emulator is its model. Without it
	// (always in AWS) such answers are asked again.
	AcceptEmulated bool
	// StatusTable, when set, makes each pass check that its execution still holds the
	// job's claim before it calls the model and before it writes (issue 11, D2).
	// `enrichctl run-pass` runs passes outside any execution and leaves it empty.
	StatusTable string
}

// OptionsFromEnv reads the handler's settings from contract.Env* variables.
func OptionsFromEnv() (Options, error) {
	o := Options{
		Stack:        os.Getenv(contract.EnvStack),
		StatusTable:  os.Getenv(contract.EnvStatusTable),
		BronzeBucket: os.Getenv(contract.EnvBronzeBucket),
		Models: map[contract.Pass]string{
			contract.Pass1: os.Getenv(contract.EnvModelPass1),
			contract.Pass2: os.Getenv(contract.EnvModelPass2),
			contract.Pass3: os.Getenv(contract.EnvModelPass3),
		},
		ServiceTier: os.Getenv(contract.EnvServiceTier),
		ReasoningEfforts: map[contract.Pass]string{
			contract.Pass1: os.Getenv(contract.EnvReasoningEffortPass1),
			contract.Pass2: os.Getenv(contract.EnvReasoningEffortPass2),
			contract.Pass3: os.Getenv(contract.EnvReasoningEffortPass3),
		},
		BreakerFailures: 5,
		BreakerCooldown: time.Minute,
	}
	if v := os.Getenv(contract.EnvBreakerFailures); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("%s=%q: want a positive integer", contract.EnvBreakerFailures, v)
		}
		o.BreakerFailures = n
	}
	if v := os.Getenv(contract.EnvBreakerCooldown); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("%s=%q: want a positive number of seconds", contract.EnvBreakerCooldown, v)
		}
		o.BreakerCooldown = time.Duration(n) * time.Second
	}
	if v := os.Getenv(contract.EnvPassTimeout); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 30 {
			return o, fmt.Errorf("%s=%q: want at least 30 seconds", contract.EnvPassTimeout, v)
		}
		// Leave room for the Bronze writes after the model answers.
		o.ModelReadTimeout = time.Duration(n-15) * time.Second
	}
	return o, o.validate()
}

func (o Options) validate() error {
	if o.BronzeBucket == "" {
		return fmt.Errorf("%s is not set", contract.EnvBronzeBucket)
	}
	for _, p := range contract.Passes {
		if o.Models[p] == "" {
			return fmt.Errorf("no model configured for %s", p)
		}
		if err := CheckReasoningEffort(o.Models[p], o.ReasoningEfforts[p]); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
