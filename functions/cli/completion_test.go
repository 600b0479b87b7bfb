package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHelpListsEveryCommand(t *testing.T) {
	code, out := runCLI(t, "--help")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, cmd := range []string{"status", "job", "retry", "locks", "reconcile", "dlq", "backfill", "plan", "completion", "run-pass", "parse", "silver", "workflow", "demo", "local"} {
		if !strings.Contains(out, "\n  "+cmd+" ") {
			t.Errorf("--help does not list %q:\n%s", cmd, out)
		}
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		shell string
		code  int
		want  string
	}{
		{"bash", ExitOK, "complete -o default -F __start_enrichctl enrichctl"},
		{"zsh", ExitOK, "#compdef enrichctl"},
		{"fish", ExitOK, "complete -c enrichctl"},
		{"powershell", ExitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			code, out := runCLI(t, "completion", tt.shell)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%.300s", code, tt.code, tt.want, out)
			}
		})
	}
}

func TestCompletionOfFlagValues(t *testing.T) {
	code, out := runCLI(t, "__complete", "retry", "1", "--from-pass", "")
	if code != ExitOK || !strings.Contains(out, "pass1\npass2\npass3\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestCompletionOfStackPassAndBedrock(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "status", "--stack", ""}, "dev\nstaging\nprod\n"},
		{[]string{"__complete", "run-pass", "--pass", ""}, "pass1\npass2\npass3\n"},
		{[]string{"__complete", "parse", "--pass", ""}, "pass1\npass2\npass3\n"},
		{[]string{"__complete", "demo", "--bedrock", ""}, "offline\naws\n"},
	} {
		if code, out := runCLI(t, tt.args...); code != ExitOK || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d:\n%s", tt.args, code, out)
		}
	}
}

func TestWorkflowDiagramJSON(t *testing.T) {
	code, out := runCLI(t, "workflow", "diagram", "--json")
	var v struct{ Stack, Format, Diagram string }
	if err := json.Unmarshal([]byte(out), &v); code != ExitOK || err != nil || v.Format != "mermaid" || !strings.HasPrefix(v.Diagram, "flowchart") && !strings.Contains(v.Diagram, "ClaimJob") {
		t.Fatalf("exit %d, %v:\n%.300s", code, err, out)
	}
}
