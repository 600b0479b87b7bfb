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
	QueueURL        string        // the jobs queue: the reaper publishes requeued jobs
	MessageGroups   int
	MaxAttempts     int           // an ended attempt beyond this gives the job up
	StuckAfter      time.Duration // non-terminal rows older than this are checked by the reaper (default LockTimeout)
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
		spec.String(contract.EnvQueueURL, func(st spec.Stack) string { return st.QueueURL },
			func(o *Options) *string { return &o.QueueURL }).Required(),
		spec.Int(contract.EnvMessageGroups, 1, func(st spec.Stack) int { return st.Settings.MessageGroups },
			func(o *Options) *int { return &o.MessageGroups }).Required(),
		spec.Int(contract.EnvMaxAttempts, 1, func(st spec.Stack) int { return st.Settings.MaxAttempts },
			func(o *Options) *int { return &o.MaxAttempts }).Required(),
		spec.String(contract.EnvStack, func(st spec.Stack) string { return st.Settings.Stack },
			func(o *Options) *string { return &o.Stack }),
	},
	Calls: func(st spec.Stack) []spec.Statement {
		a, n := st.Account, st.Names
		return []spec.Statement{
			// GetItem reads the holders; UpdateItem releases and reconciles.
			{Sid: "Semaphore", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.SemaphoreTable)}},
			// GetItem reads a job, UpdateItem settles it (the lifecycle's transitions);
			// the reaper lists and counts stuck rows on the index.
			{Sid: "StatusTable", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.StatusTable)}},
			{Sid: "StatusIndex", Actions: []string{"dynamodb:Query"}, Resources: []string{a.IndexARN(n.StatusTable, contract.StatusIndex)}},
			{Sid: "Executions", Actions: []string{"states:DescribeExecution"}, Resources: []string{a.ExecutionsARN(n.StateMachine)}},
			// The reaper publishes requeued jobs and reads the queue depth.
			{Sid: "Requeue", Actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, Resources: []string{a.QueueARN(n.Queue)}},
		}
	},
}
