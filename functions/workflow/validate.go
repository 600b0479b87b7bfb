package workflow

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// statesAll matches every error; it must stand alone and last.
const statesAll = "States.ALL"

// callbackSuffix ends the resource of a task that waits for its task token.
const callbackSuffix = ".waitForTaskToken"

// Validate checks the graph rules the service would reject or that hide bugs: unique
// names, exactly one of Next/End, every target exists, every state reachable from
// StartAt, a terminal state reachable from every state, States.ALL alone and last,
// ".$" keys holding paths or intrinsics (and plain keys not holding paths).
func (m *StateMachine) Validate() error {
	var errs []error
	bad := func(state, format string, a ...any) {
		errs = append(errs, fmt.Errorf("state %q: %s", state, fmt.Sprintf(format, a...)))
	}
	index := map[string]State{}
	for _, n := range m.states {
		if n.name == "" || len(n.name) > 80 {
			bad(n.name, "name must be 1 to 80 characters")
		}
		if _, dup := index[n.name]; dup {
			bad(n.name, "name used twice")
		}
		index[n.name] = n.state
	}
	if _, ok := index[m.StartAt]; !ok {
		errs = append(errs, fmt.Errorf("StartAt %q is not a state", m.StartAt))
	}
	for _, n := range m.states {
		for _, msg := range checkState(n.state) {
			bad(n.name, "%s", msg)
		}
		for _, e := range n.state.targets() {
			if _, ok := index[e.to]; !ok {
				bad(n.name, "goes to unknown state %q", e.to)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	reached := m.reachableFrom(m.StartAt, index)
	for _, n := range m.states {
		if !reached[n.name] {
			bad(n.name, "unreachable from %s", m.StartAt)
		}
		if !m.canTerminate(n.name, index) {
			bad(n.name, "no terminal state reachable")
		}
	}
	return errors.Join(errs...)
}

func (m *StateMachine) reachableFrom(start string, index map[string]State) map[string]bool {
	seen := map[string]bool{}
	stack := []string{start}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[name] {
			continue
		}
		seen[name] = true
		for _, e := range index[name].targets() {
			stack = append(stack, e.to)
		}
	}
	return seen
}

func (m *StateMachine) canTerminate(name string, index map[string]State) bool {
	for s := range m.reachableFrom(name, index) {
		if isTerminal(index[s]) {
			return true
		}
	}
	return false
}

func isTerminal(s State) bool {
	switch t := s.(type) {
	case *Succeed, *Fail:
		return true
	case *Task:
		return t.End
	case *Pass:
		return t.End
	case *Wait:
		return t.End
	}
	return false
}

// checkState returns the problems of one state on its own.
func checkState(s State) []string {
	var out []string
	nextOrEnd := func(next string, end bool) {
		if (next == "") == !end {
			out = append(out, "needs exactly one of Next and End")
		}
	}
	resultPath := func(p *string) {
		if p != nil && !isPath(*p) {
			out = append(out, fmt.Sprintf("ResultPath %q is not a path", *p))
		}
	}
	switch t := s.(type) {
	case *Task:
		nextOrEnd(t.Next, t.End)
		resultPath(t.ResultPath)
		if t.Resource == "" {
			out = append(out, "Task without Resource")
		}
		if t.TimeoutSeconds > 0 && t.TimeoutSecondsPath != "" {
			out = append(out, "Task with both TimeoutSeconds and TimeoutSecondsPath")
		}
		if t.TimeoutSecondsPath != "" && !isPath(t.TimeoutSecondsPath) {
			out = append(out, fmt.Sprintf("TimeoutSecondsPath %q is not a path", t.TimeoutSecondsPath))
		}
		// A callback task without a timeout waits 99999999 s for its token (Task state,
		// Step Functions Developer Guide): one lost token would hold the execution for years.
		if strings.HasSuffix(t.Resource, callbackSuffix) && t.TimeoutSeconds == 0 && t.TimeoutSecondsPath == "" {
			out = append(out, "callback Task without a timeout")
		}
		out = append(out, checkParams("Parameters", t.Parameters)...)
		out = append(out, checkParams("ResultSelector", t.ResultSelector)...)
		var retryErrs, catchErrs [][]string
		for _, r := range t.Retry {
			retryErrs = append(retryErrs, r.ErrorEquals)
			if r.JitterStrategy != "" && r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
				out = append(out, fmt.Sprintf("JitterStrategy %q", r.JitterStrategy))
			}
			if r.BackoffRate != 0 && r.BackoffRate < 1 {
				out = append(out, fmt.Sprintf("BackoffRate %v below 1", r.BackoffRate))
			}
		}
		for _, c := range t.Catch {
			catchErrs = append(catchErrs, c.ErrorEquals)
			resultPath(c.ResultPath)
		}
		out = append(out, checkErrorLists("Retry", retryErrs)...)
		out = append(out, checkErrorLists("Catch", catchErrs)...)
	case *Pass:
		nextOrEnd(t.Next, t.End)
		resultPath(t.ResultPath)
		out = append(out, checkParams("Parameters", t.Parameters)...)
	case *Wait:
		nextOrEnd(t.Next, t.End)
		if (t.Seconds > 0) == (t.SecondsPath != "") {
			out = append(out, "Wait needs exactly one of Seconds and SecondsPath")
		}
		if t.SecondsPath != "" && !isPath(t.SecondsPath) {
			out = append(out, fmt.Sprintf("SecondsPath %q is not a path", t.SecondsPath))
		}
	case *Choice:
		if len(t.Choices) == 0 {
			out = append(out, "Choice without rules")
		}
		for _, r := range t.Choices {
			if err := r.When.check(); err != nil {
				out = append(out, err.Error())
			}
		}
	case *Fail:
		if t.Error == "" {
			out = append(out, "Fail without Error")
		}
	}
	return out
}

// checkErrorLists enforces States.ALL alone in its list and in the last list.
func checkErrorLists(what string, lists [][]string) []string {
	var out []string
	for i, l := range lists {
		if len(l) == 0 {
			out = append(out, what+" with empty ErrorEquals")
		}
		for _, e := range l {
			if e != statesAll {
				continue
			}
			if len(l) > 1 {
				out = append(out, what+": States.ALL must be alone in ErrorEquals")
			}
			if i != len(lists)-1 {
				out = append(out, what+": States.ALL must be the last entry")
			}
		}
	}
	return out
}

// checkParams walks a payload template: ".$" keys need a path or an intrinsic, other
// keys must not hold a path (a forgotten ".$" silently sends the literal text).
func checkParams(where string, p map[string]any) []string {
	var out []string
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := p[k]
		s, isString := v.(string)
		switch {
		case strings.HasSuffix(k, ".$"):
			if !isString || !(isPath(s) || isIntrinsic(s)) {
				out = append(out, fmt.Sprintf("%s.%s: %v is neither a path nor an intrinsic", where, k, v))
			}
		case isString && (strings.HasPrefix(s, "$.") || strings.HasPrefix(s, "$$.") || isIntrinsic(s)):
			out = append(out, fmt.Sprintf("%s.%s: %q looks like a path but the key lacks \".$\"", where, k, s))
		}
		if nested, ok := v.(map[string]any); ok {
			out = append(out, checkParams(where+"."+k, nested)...)
		}
	}
	return out
}

func isPath(s string) bool {
	return s == "$" || strings.HasPrefix(s, "$.") || strings.HasPrefix(s, "$$.")
}

func isIntrinsic(s string) bool { return strings.HasPrefix(s, "States.") && strings.HasSuffix(s, ")") }

// joinErrors labels a Catch edge in the diagram.
func joinErrors(errs []string) string { return strings.Join(errs, ", ") }
