// Package spec is how a function declares what it needs from its stack, once, next to
// its code: the IAM statements of every AWS call it makes, and the settings it reads
// (stack setting → environment variable → typed field). The Pulumi program, the local
// runtime, the local cloud's IAM and `enrichctl policies` are all derived from these
// declarations, and the handler's own loader reads the same variables.
package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Stack is what a declaration is evaluated against.
type Stack struct {
	Account  contract.Account
	Names    contract.Names
	Settings stacks.Settings
	// QueueURL is known once the queue exists; the Pulumi program fills it from the
	// queue's output, the local runtime from the created queue.
	QueueURL string
}

// Statement is one Allow statement of an IAM policy.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []string
	Condition map[string]map[string][]string
}

// Services that assume the roles.
const (
	LambdaService        = "lambda.amazonaws.com"
	StepFunctionsService = "states.amazonaws.com"
)

// RoleOf is the role of a function in st with the statements of its calls only.
func RoleOf(f Declared, st Stack) Role {
	return Role{Name: f.FunctionName(st.Names), Service: LambdaService, Statements: f.Statements(st)}
}

// Role is an IAM role: the service that assumes it and what it allows.
type Role struct {
	Name       string
	Service    string // principal trusted to assume the role, e.g. lambda.amazonaws.com
	Statements []Statement
}

// Policy renders the role's statements as an IAM policy document. Wildcard actions
// are refused: every action is named by the call that needs it.
func (r Role) Policy() (string, error) {
	type stmt struct {
		Sid       string                         `json:"Sid,omitempty"`
		Effect    string                         `json:"Effect"`
		Action    []string                       `json:"Action"`
		Resource  []string                       `json:"Resource"`
		Condition map[string]map[string][]string `json:"Condition,omitempty"`
	}
	doc := struct {
		Version   string `json:"Version"`
		Statement []stmt `json:"Statement"`
	}{Version: "2012-10-17"}
	for _, s := range r.Statements {
		for _, a := range s.Actions {
			if strings.Contains(a, "*") {
				return "", fmt.Errorf("role %s, statement %q: wildcard action %q", r.Name, s.Sid, a)
			}
		}
		doc.Statement = append(doc.Statement, stmt{s.Sid, "Allow", s.Actions, s.Resources, s.Condition})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("render policy of %s: %w", r.Name, err)
	}
	return string(b), nil
}

// TrustPolicy lets the role's service assume it.
func (r Role) TrustPolicy() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + r.Service +
		`"},"Action":"sts:AssumeRole"}]}`
}

// Without is the role minus the statement sid (tests prove a statement is needed).
func (r Role) Without(sid string) Role {
	r.Statements = slices.DeleteFunc(slices.Clone(r.Statements), func(s Statement) bool { return s.Sid == sid })
	return r
}

// Function is what one handler declares: its environment (Vars) and the statements
// of its AWS calls. O is the handler's typed configuration.
type Function[O any] struct {
	Key  string                      // directory under functions/cmd
	Name func(contract.Names) string // the function's (and its role's) name
	Vars []Var[O]
	// Defaults is the configuration before the variables are read; Check, when set,
	// validates the result.
	Defaults func() O
	Check    func(O) error
	// Calls are the statements of every AWS call the handler makes.
	Calls func(Stack) []Statement
}

// Environment is the variables the function is deployed with.
func (f Function[O]) Environment(st Stack) map[string]string {
	env := map[string]string{}
	for _, v := range f.Vars {
		env[v.Name] = v.value(st)
	}
	return env
}

// FromEnv is the handler's loader in Lambda: its configuration from the process
// environment the Pulumi program set.
func (f Function[O]) FromEnv() (O, error) { return f.load(os.LookupEnv) }

// For is the configuration the handler has when deployed in st: the stack's values
// go through the same variables and parsers, so the local runtime and the CLI cannot
// drift from the deployed environment.
func (f Function[O]) For(st Stack) (O, error) {
	env := f.Environment(st)
	return f.load(func(name string) (string, bool) { v, ok := env[name]; return v, ok })
}

// load starts from the defaults, sets every variable lookup finds (an unset optional
// variable keeps its default) and checks the result.
func (f Function[O]) load(lookup func(string) (string, bool)) (O, error) {
	var o O
	if f.Defaults != nil {
		o = f.Defaults()
	}
	for _, v := range f.Vars {
		raw, ok := lookup(v.Name)
		if !ok || raw == "" {
			if v.required {
				return o, fmt.Errorf("environment variable %s is not set", v.Name)
			}
			continue
		}
		if err := v.set(&o, raw); err != nil {
			return o, fmt.Errorf("environment variable %s=%q: %w", v.Name, raw, err)
		}
	}
	if f.Check != nil {
		if err := f.Check(o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Statements are the function's calls.
func (f Function[O]) Statements(st Stack) []Statement { return f.Calls(st) }

// FunctionKey is the function's directory under functions/cmd.
func (f Function[O]) FunctionKey() string { return f.Key }

// FunctionName is the deployed name of the function in a stack.
func (f Function[O]) FunctionName(n contract.Names) string { return f.Name(n) }

// Declared is a Function of any configuration type.
type Declared interface {
	FunctionKey() string
	FunctionName(contract.Names) string
	Environment(Stack) map[string]string
	Statements(Stack) []Statement
}

var _ Declared = Function[struct{}]{}
