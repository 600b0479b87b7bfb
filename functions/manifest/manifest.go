// Package manifest is every role and function environment of a stack, gathered from
// the declarations next to the code that needs them: each handler's Spec and the
// state machine's tasks. The Pulumi program, the local runtime and `enrichctl
// policies` build from it, so what is deployed, what runs locally and what is
// reviewed are one thing.
package manifest

import (
	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
)

// Functions are the four handlers' declarations, in deployment order.
var Functions = []spec.Declared{discover.Spec, invoke.Spec, enrichpartition.Spec, cleanup.Spec}

// FunctionRole is a function's role: the statements of its handler's calls, plus
// what the Lambda runtime does with the role (log delivery, active tracing).
func FunctionRole(st spec.Stack, f spec.Declared) spec.Role {
	r := spec.RoleOf(f, st)
	runtime := []spec.Statement{
		{Sid: "Logs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: []string{st.Account.LogGroupARN(LogGroup(r.Name))}},
		// X-Ray offers no resource-level permissions.
		{Sid: "Tracing", Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, Resources: []string{"*"}},
	}
	r.Statements = append(r.Statements, runtime...)
	return r
}

// LogGroup is the log group of a function.
func LogGroup(function string) string { return "/aws/lambda/" + function }

// MachineRole is the state machine's role: what its tasks declared, plus log
// delivery and tracing, which AWS authorises only on "*".
func MachineRole(st spec.Stack, m *workflow.StateMachine) spec.Role {
	r := m.Role(st.Names.StateMachineRole)
	r.Statements = append(r.Statements,
		spec.Statement{Sid: "LogDelivery", Actions: []string{"logs:CreateLogDelivery", "logs:GetLogDelivery",
			"logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
			"logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, Resources: []string{"*"}},
		spec.Statement{Sid: "Tracing", Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords",
			"xray:GetSamplingRules", "xray:GetSamplingTargets"}, Resources: []string{"*"}},
	)
	return r
}

// Roles are every role of the stack: one per function, then the state machine's.
func Roles(st spec.Stack, m *workflow.StateMachine) []spec.Role {
	var roles []spec.Role
	for _, f := range Functions {
		roles = append(roles, FunctionRole(st, f))
	}
	return append(roles, MachineRole(st, m))
}
