package workflow

import (
	"fmt"
	"strings"
)

// Mermaid renders the state graph as a Mermaid flowchart: tasks as boxes, choices as
// diamonds, end states as circles, Catch edges dashed and labelled with the errors.
func (m *StateMachine) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	fmt.Fprintf(&b, "  start((start)) --> %s\n", m.StartAt)
	for _, n := range m.states {
		fmt.Fprintf(&b, "  %s\n", node(n.name, n.state))
	}
	for _, n := range m.states {
		for _, e := range n.state.targets() {
			arrow := "-->"
			if e.catch {
				arrow = "-.->"
			}
			if e.label == "" {
				fmt.Fprintf(&b, "  %s %s %s\n", n.name, arrow, e.to)
				continue
			}
			fmt.Fprintf(&b, "  %s %s|%q| %s\n", n.name, arrow, mermaidText(e.label), e.to)
		}
	}
	return b.String()
}

func node(name string, s State) string {
	switch s.(type) {
	case *Choice:
		return name + "{" + name + "}"
	case *Succeed, *Fail:
		return name + "((" + name + "))"
	case *Wait:
		return name + "([" + name + "])"
	case *Pass:
		return name + "[/" + name + "/]"
	}
	return name + "[" + name + "]"
}

// mermaidText keeps a label inside its quotes.
func mermaidText(s string) string { return strings.ReplaceAll(s, `"`, "'") }
