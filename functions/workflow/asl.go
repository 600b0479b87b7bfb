// Package workflow builds the Step Functions state machine as typed Go values: the
// Amazon States Language (JSONPath flavour) states, a validator for the graph rules,
// deterministic JSON and Mermaid rendering, and the pipeline definition itself.
package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Params is a Parameters, ResultSelector or Payload object. Keys ending in ".$" hold
// a path ("$...", "$$...") or an intrinsic function ("States....").
type Params = map[string]any

// Permission is one IAM statement a state needs (Effect Allow).
type Permission struct {
	Actions   []string
	Resources []string
}

// State is one ASL state. The concrete types are Task, Choice, Pass, Wait, Succeed and Fail.
type State interface {
	// Type is the ASL "Type" value.
	Type() string
	// targets lists every state name this state can go to.
	targets() []edge
}

// edge is one outgoing transition, labelled for the diagram.
type edge struct {
	to    string
	label string
	catch bool
}

// Retry is one retrier. MaxAttempts is always rendered: 0 means "never retry".
type Retry struct {
	ErrorEquals     []string
	IntervalSeconds int `json:",omitempty"`
	MaxAttempts     int
	BackoffRate     float64 `json:",omitempty"`
	MaxDelaySeconds int     `json:",omitempty"`
	JitterStrategy  string  `json:",omitempty"` // "FULL" or "NONE"
}

// Catch sends matching errors to Next, with the error object at ResultPath
// (nil: the error is discarded and the input passes through unchanged).
type Catch struct {
	ErrorEquals []string
	ResultPath  *string
	Next        string
}

// Task calls a service integration. Permissions are not rendered: they are collected
// for the state machine role.
type Task struct {
	Comment        string `json:",omitempty"`
	Resource       string
	Parameters     Params  `json:",omitempty"`
	ResultSelector Params  `json:",omitempty"`
	ResultPath     *string // nil renders null: the result is discarded
	TimeoutSeconds int     `json:",omitempty"`
	// TimeoutSecondsPath reads the timeout from the state's input instead.
	TimeoutSecondsPath string  `json:",omitempty"`
	Retry              []Retry `json:",omitempty"`
	Catch              []Catch `json:",omitempty"`
	Next               string  `json:",omitempty"`
	End                bool    `json:",omitempty"`

	Permissions []Permission `json:"-"`
}

// Pass shapes the state without calling anything.
type Pass struct {
	Comment    string  `json:",omitempty"`
	Parameters Params  `json:",omitempty"`
	Result     any     `json:",omitempty"`
	ResultPath *string // nil renders null: the input passes through unchanged
	Next       string  `json:",omitempty"`
	End        bool    `json:",omitempty"`
}

// Wait pauses for Seconds, or for the number of seconds at SecondsPath.
type Wait struct {
	Comment     string `json:",omitempty"`
	Seconds     int    `json:",omitempty"`
	SecondsPath string `json:",omitempty"`
	Next        string `json:",omitempty"`
	End         bool   `json:",omitempty"`
}

// Choice branches on the first matching rule, else Default.
type Choice struct {
	Comment string `json:",omitempty"`
	Choices []Rule
	Default string `json:",omitempty"`
}

// Rule is a top-level Choice rule: a condition and the state it leads to. Comment,
// when set, also labels the edge in the diagram.
type Rule struct {
	Comment string
	When    Condition
	Next    string
}

// Succeed ends the execution successfully.
type Succeed struct {
	Comment string `json:",omitempty"`
}

// Fail ends the execution with an error name and cause.
type Fail struct {
	Comment string `json:",omitempty"`
	Error   string
	Cause   string `json:",omitempty"`
}

func (*Task) Type() string    { return "Task" }
func (*Pass) Type() string    { return "Pass" }
func (*Wait) Type() string    { return "Wait" }
func (*Choice) Type() string  { return "Choice" }
func (*Succeed) Type() string { return "Succeed" }
func (*Fail) Type() string    { return "Fail" }

func (t *Task) targets() []edge {
	var out []edge
	if t.Next != "" {
		out = append(out, edge{to: t.Next})
	}
	for _, c := range t.Catch {
		out = append(out, edge{to: c.Next, label: joinErrors(c.ErrorEquals), catch: true})
	}
	return out
}

func (p *Pass) targets() []edge { return nextEdge(p.Next) }
func (w *Wait) targets() []edge { return nextEdge(w.Next) }

func (c *Choice) targets() []edge {
	var out []edge
	for _, r := range c.Choices {
		label := r.Comment
		if label == "" {
			label = r.When.String()
		}
		out = append(out, edge{to: r.Next, label: label})
	}
	if c.Default != "" {
		out = append(out, edge{to: c.Default, label: "otherwise"})
	}
	return out
}

func (*Succeed) targets() []edge { return nil }
func (*Fail) targets() []edge    { return nil }

func nextEdge(next string) []edge {
	if next == "" {
		return nil
	}
	return []edge{{to: next}}
}

// The MarshalJSON methods put "Type" first; a nil ResultPath renders as null.

func (t *Task) MarshalJSON() ([]byte, error) {
	type plain Task
	return withType(t.Type(), (*plain)(t))
}

func (p *Pass) MarshalJSON() ([]byte, error) {
	type plain Pass
	return withType(p.Type(), (*plain)(p))
}

func (w *Wait) MarshalJSON() ([]byte, error) {
	type plain Wait
	return withType(w.Type(), (*plain)(w))
}

func (c *Choice) MarshalJSON() ([]byte, error) {
	type plain Choice
	return withType(c.Type(), (*plain)(c))
}

func (s *Succeed) MarshalJSON() ([]byte, error) {
	type plain Succeed
	return withType(s.Type(), (*plain)(s))
}

func (f *Fail) MarshalJSON() ([]byte, error) {
	type plain Fail
	return withType(f.Type(), (*plain)(f))
}

// withType renders a state's fields with its "Type" in front.
func withType(typ string, fields any) ([]byte, error) {
	b, err := marshal(fields)
	if err != nil {
		return nil, err
	}
	head := `{"Type":"` + typ + `"`
	if len(b) > 2 {
		head += ","
	}
	return append([]byte(head), b[1:]...), nil
}

// MarshalJSON renders the rule as its condition's fields plus "Next".
func (r Rule) MarshalJSON() ([]byte, error) {
	fields := r.When.fields()
	fields["Next"] = r.Next
	if r.Comment != "" {
		fields["Comment"] = r.Comment
	}
	return marshal(fields)
}

// At returns a ResultPath pointing at path.
func At(path string) *string { return &path }

// named is a state with its name, kept in insertion order for readable output.
type named struct {
	name  string
	state State
}

// StateMachine is a whole definition.
type StateMachine struct {
	Comment        string
	StartAt        string
	TimeoutSeconds int
	states         []named
}

// Add appends a state. Duplicate names are reported by Validate.
func (m *StateMachine) Add(name string, s State) {
	m.states = append(m.states, named{name, s})
}

// State returns the state called name, or nil.
func (m *StateMachine) State(name string) State {
	for _, n := range m.states {
		if n.name == name {
			return n.state
		}
	}
	return nil
}

// JSON renders the definition. The output is deterministic: states in insertion
// order, object keys in struct order or sorted (maps).
func (m *StateMachine) JSON() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var states []byte
	states = append(states, '{')
	for i, n := range m.states {
		if i > 0 {
			states = append(states, ',')
		}
		k, err := marshal(n.name)
		if err != nil {
			return nil, err
		}
		v, err := marshal(n.state)
		if err != nil {
			return nil, fmt.Errorf("render state %s: %w", n.name, err)
		}
		states = append(states, k...)
		states = append(states, ':')
		states = append(states, v...)
	}
	states = append(states, '}')
	doc := struct {
		Comment        string `json:",omitempty"`
		StartAt        string
		TimeoutSeconds int `json:",omitempty"`
		States         json.RawMessage
	}{m.Comment, m.StartAt, m.TimeoutSeconds, states}
	flat, err := marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render state machine: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, flat, "", "  "); err != nil {
		return nil, fmt.Errorf("indent state machine: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping, so expressions keep their < and >.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Role is the state machine's role: the statements its tasks declared.
func (m *StateMachine) Role(name string) spec.Role {
	r := spec.Role{Name: name, Service: spec.StepFunctionsService}
	for i, p := range m.Permissions() {
		r.Statements = append(r.Statements, spec.Statement{Sid: fmt.Sprintf("Task%d", i+1), Actions: p.Actions, Resources: p.Resources})
	}
	return r
}

// Permissions collects the IAM statements the tasks declared, merged per resource
// set, so the role is derived from the definition.
func (m *StateMachine) Permissions() []Permission {
	var order []string
	byRes := map[string]*Permission{}
	for _, n := range m.states {
		t, ok := n.state.(*Task)
		if !ok {
			continue
		}
		for _, p := range t.Permissions {
			k := fmt.Sprint(p.Resources)
			merged, seen := byRes[k]
			if !seen {
				merged = &Permission{Resources: append([]string(nil), p.Resources...)}
				byRes[k] = merged
				order = append(order, k)
			}
			for _, a := range p.Actions {
				if !slices.Contains(merged.Actions, a) {
					merged.Actions = append(merged.Actions, a)
				}
			}
		}
	}
	out := make([]Permission, 0, len(order))
	for _, k := range order {
		out = append(out, *byRes[k])
	}
	return out
}
