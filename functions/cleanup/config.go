package cleanup

import (
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Options configure the handler.
type Options struct {
	StateMachineARN string
	SemaphoreTable  string
	StatusTable     string
	LockTimeout     time.Duration // unknown holders older than this are released
	Stack           string        // metric dimension
}

// Spec is what CleanupLocks reads from its environment and the AWS calls it makes.
// Adding a setting or a call is one line here.
var Spec = spec.Function[Options]{
	Key:  "cleanup-locks",
	Name: func(n contract.Names) string { return n.CleanupFunction },
	Vars: []spec.Var[Options]{
		spec.String(contract.EnvStateMachineARN, func(st spec.Stack) string { return st.Account.StateMachineARN(st.Names.StateMachine) },
			func(o *Options) *string { return &o.StateMachineARN }).Required(),
		spec.String(contract.EnvSemaphoreTable, func(st spec.Stack) string { return st.Names.SemaphoreTable },
			func(o *Options) *string { return &o.SemaphoreTable }).Required(),
		spec.String(contract.EnvStatusTable, func(st spec.Stack) string { return st.Names.StatusTable },
			func(o *Options) *string { return &o.StatusTable }).Required(),
		spec.Seconds(contract.EnvLockTimeout, time.Second, func(st spec.Stack) time.Duration { return st.Settings.LockTimeout },
			func(o *Options) *time.Duration { return &o.LockTimeout }).Required(),
		spec.String(contract.EnvStack, func(st spec.Stack) string { return st.Settings.Stack },
			func(o *Options) *string { return &o.Stack }),
	},
	Calls: func(st spec.Stack) []spec.Statement {
		a, n := st.Account, st.Names
		return []spec.Statement{
			// GetItem reads the holders; UpdateItem releases and reconciles.
			{Sid: "Semaphore", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.SemaphoreTable)}},
			// UpdateItem marks a job whose execution died FAILED and clears its claim.
			{Sid: "StatusTable", Actions: []string{"dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.StatusTable)}},
			{Sid: "Executions", Actions: []string{"states:DescribeExecution"}, Resources: []string{a.ExecutionsARN(n.StateMachine)}},
		}
	},
}
