package invoke

import (
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// DefaultDeferDelay is how long a deferred message stays invisible before it is
// offered again: about one slot wait of the state machine.
const DefaultDeferDelay = 30 * time.Second

// Options configure the handler.
type Options struct {
	StateMachineARN string
	QueueURL        string
	SemaphoreTable  string
	StatusTable     string
	MessageGroups   int
	MaxConcurrent   int
	// ConcurrencyInitial is the controller's initial limit, 0 without a controller:
	// with MaxConcurrent, the semaphore configuration a deploy applies.
	ConcurrencyInitial int
	AdmissionBuffer    int
	DeferDelay         time.Duration
	Stack              string // metric dimension
}

// Spec is what InvokeEnrichment reads from its environment and the AWS calls it
// makes. Adding a setting or a call is one line here.
var Spec = spec.Function[Options]{
	Key:      "invoke-enrichment",
	Name:     func(n contract.Names) string { return n.InvokeFunction },
	Defaults: func() Options { return Options{DeferDelay: DefaultDeferDelay} },
	Vars: []spec.Var[Options]{
		spec.String(contract.EnvStateMachineARN, func(st spec.Stack) string { return st.Account.StateMachineARN(st.Names.StateMachine) },
			func(o *Options) *string { return &o.StateMachineARN }).Required(),
		spec.String(contract.EnvQueueURL, func(st spec.Stack) string { return st.QueueURL },
			func(o *Options) *string { return &o.QueueURL }).Required(),
		spec.String(contract.EnvSemaphoreTable, func(st spec.Stack) string { return st.Names.SemaphoreTable },
			func(o *Options) *string { return &o.SemaphoreTable }).Required(),
		spec.String(contract.EnvStatusTable, func(st spec.Stack) string { return st.Names.StatusTable },
			func(o *Options) *string { return &o.StatusTable }).Required(),
		spec.Int(contract.EnvMessageGroups, 1, func(st spec.Stack) int { return st.Settings.MessageGroups },
			func(o *Options) *int { return &o.MessageGroups }).Required(),
		spec.Int(contract.EnvMaxConcurrency, 1, func(st spec.Stack) int { return st.Settings.MaxConcurrentExecutions },
			func(o *Options) *int { return &o.MaxConcurrent }).Required(),
		spec.Int(contract.EnvConcurrencyInitial, 0, func(st spec.Stack) int { return st.Settings.InitialLimit() },
			func(o *Options) *int { return &o.ConcurrencyInitial }),
		spec.Int(contract.EnvAdmissionBuffer, 0, func(st spec.Stack) int { return st.Settings.AdmissionBuffer },
			func(o *Options) *int { return &o.AdmissionBuffer }).Required(),
		spec.String(contract.EnvStack, func(st spec.Stack) string { return st.Settings.Stack },
			func(o *Options) *string { return &o.Stack }),
	},
	Calls: func(st spec.Stack) []spec.Statement {
		a, n := st.Account, st.Names
		return []spec.Statement{
			// ReceiveMessage and DeleteMessage are the event source mapping's: Lambda
			// polls the queue with the function's role. GetQueueAttributes reads the
			// redrive policy; ChangeMessageVisibility defers, SendMessage re-sends.
			{Sid: "Queue", Actions: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
				"sqs:ChangeMessageVisibility", "sqs:SendMessage"}, Resources: []string{a.QueueARN(n.Queue)}},
			// Poison messages go to the DLQ at once instead of blocking their group.
			{Sid: "DeadLetter", Actions: []string{"sqs:GetQueueUrl", "sqs:SendMessage"}, Resources: []string{a.QueueARN(n.DeadLetterQueue)}},
			// ListExecutions counts running executions for admission.
			{Sid: "Start", Actions: []string{"states:StartExecution", "states:ListExecutions"},
				Resources: []string{a.StateMachineARN(n.StateMachine)}},
			// An existing execution of a message's publication: running, or ended
			// before its claim (then the job is requeued).
			{Sid: "Executions", Actions: []string{"states:DescribeExecution"}, Resources: []string{a.ExecutionsARN(n.StateMachine)}},
			// GetItem reads the count for admission; UpdateItem applies a deployed maximum.
			{Sid: "Semaphore", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.SemaphoreTable)}},
			// GetItem reads the job of an existing execution, UpdateItem requeues it.
			{Sid: "StatusTable", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{a.TableARN(n.StatusTable)}},
		}
	},
}
