package enrichpartition

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/controller"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Options configure the handler; Spec reads them from the Lambda environment the
// Pulumi program sets.
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
	// Controller is the concurrency controller's settings (controller.EnvValue), empty
	// when the stack does not adapt; SemaphoreTable is where it sets the limit.
	Controller     string
	SemaphoreTable string
	// StatusTable, when set, makes each pass check that its execution still holds the
	// job's claim before it calls the model and before it writes (issue 11, D2).
	// `enrichctl run-pass` runs passes outside any execution and leaves it empty.
	StatusTable string
}

// writeMargin is the part of the pass timeout kept for the Bronze writes after the
// model answers.
const writeMargin = 15 * time.Second

// Spec is what EnrichPartition reads from its environment and the AWS calls it
// makes. Adding a setting or a call is one line here.
var Spec = spec.Function[Options]{
	Key:  "enrich-partition",
	Name: func(n contract.Names) string { return n.EnrichFunction },
	Defaults: func() Options {
		return Options{Models: map[contract.Pass]string{}, ReasoningEfforts: map[contract.Pass]string{},
			BreakerFailures: 5, BreakerCooldown: time.Minute}
	},
	Check: Options.validate,
	Vars: []spec.Var[Options]{
		spec.String(contract.EnvStack, func(st spec.Stack) string { return st.Settings.Stack },
			func(o *Options) *string { return &o.Stack }),
		spec.String(contract.EnvBronzeBucket, func(st spec.Stack) string { return st.Settings.BronzeBucket },
			func(o *Options) *string { return &o.BronzeBucket }).Required(),
		perPass(contract.Pass1, contract.EnvModelPass1, func(st spec.Stack) string { return st.Settings.ModelPass1 }, models),
		perPass(contract.Pass2, contract.EnvModelPass2, func(st spec.Stack) string { return st.Settings.ModelPass2 }, models),
		perPass(contract.Pass3, contract.EnvModelPass3, func(st spec.Stack) string { return st.Settings.ModelPass3 }, models),
		spec.String(contract.EnvServiceTier, func(st spec.Stack) string { return st.Settings.ServiceTier },
			func(o *Options) *string { return &o.ServiceTier }),
		spec.String(contract.EnvConcurrencyController, func(st spec.Stack) string { return controller.EnvValue(st.Settings) },
			func(o *Options) *string { return &o.Controller }),
		spec.String(contract.EnvSemaphoreTable, func(st spec.Stack) string { return st.Names.SemaphoreTable },
			func(o *Options) *string { return &o.SemaphoreTable }),
		spec.String(contract.EnvStatusTable, func(st spec.Stack) string { return st.Names.StatusTable },
			func(o *Options) *string { return &o.StatusTable }),
		perPass(contract.Pass1, contract.EnvReasoningEffortPass1, func(st spec.Stack) string { return st.Settings.ReasoningEffortPass1 }, efforts),
		perPass(contract.Pass2, contract.EnvReasoningEffortPass2, func(st spec.Stack) string { return st.Settings.ReasoningEffortPass2 }, efforts),
		perPass(contract.Pass3, contract.EnvReasoningEffortPass3, func(st spec.Stack) string { return st.Settings.ReasoningEffortPass3 }, efforts),
		spec.Int(contract.EnvBreakerFailures, 1, func(st spec.Stack) int { return st.Settings.BreakerFailures },
			func(o *Options) *int { return &o.BreakerFailures }),
		spec.Seconds(contract.EnvBreakerCooldown, time.Second, func(st spec.Stack) time.Duration { return st.Settings.BreakerCooldown },
			func(o *Options) *time.Duration { return &o.BreakerCooldown }),
		spec.Func(contract.EnvPassTimeout, func(st spec.Stack) string { return strconv.Itoa(int(st.Settings.PassTimeout / time.Second)) },
			func(o *Options, raw string) error {
				n, err := strconv.Atoi(raw)
				if err != nil || time.Duration(n)*time.Second < 2*writeMargin {
					return fmt.Errorf("want at least %d seconds", int(2*writeMargin/time.Second))
				}
				o.ModelReadTimeout = time.Duration(n)*time.Second - writeMargin
				return nil
			}),
	},
	Calls: func(st spec.Stack) []spec.Statement {
		var models []string
		thirdParty := false
		for _, m := range st.Settings.Models() {
			for _, arn := range st.Account.ModelARNs(m) {
				if !slices.Contains(models, arn) {
					models = append(models, arn)
				}
			}
			thirdParty = thirdParty || contract.SoldThroughMarketplace(m)
		}
		// Cache lookups, postings and previous results are read, results written.
		out := append(bronze.Statements(st, "s3:GetObject", "s3:PutObject"),
			spec.Statement{Sid: "Models", Actions: []string{"bedrock:InvokeModel"}, Resources: models},
			// The claim check: the pass still belongs to its execution.
			spec.Statement{Sid: "StatusTable", Actions: []string{"dynamodb:GetItem"}, Resources: []string{st.Account.TableARN(st.Names.StatusTable)}})
		if st.Settings.AdaptiveConcurrency {
			// The concurrency controller runs in the pass: it reads and sets the limit.
			out = append(out, spec.Statement{Sid: "Semaphore", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"},
				Resources: []string{st.Account.TableARN(st.Names.SemaphoreTable)}})
		}
		if thirdParty {
			// Bedrock subscribes the account to a third-party model on its first
			// invocation, with the caller's Marketplace permissions; AWS Marketplace
			// offers no resource-level permissions for these actions.
			out = append(out, spec.Statement{Sid: "ModelSubscription", Actions: []string{
				"aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions"}, Resources: []string{"*"}})
		}
		return out
	},
}

// perPass declares a setting of one pass, kept in the map field picks.
func perPass(p contract.Pass, env string, value func(spec.Stack) string, field func(*Options) map[contract.Pass]string) spec.Var[Options] {
	return spec.Func(env, value, func(o *Options, raw string) error { field(o)[p] = raw; return nil })
}

func models(o *Options) map[contract.Pass]string  { return o.Models }
func efforts(o *Options) map[contract.Pass]string { return o.ReasoningEfforts }

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
