package cli

import (
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
