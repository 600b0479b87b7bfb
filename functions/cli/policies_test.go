package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// The printed roles are the program's: one per function and the state machine's, each
// trusted by its service, with what the handlers declare (DiscoverPartitions may mark
// and unmark jobs: the issue 10 defect).
func TestPoliciesPrintsEveryRole(t *testing.T) {
	var got []policy
	runJSON(t, ExitOK, &got, "policies", "--stack", "dev", "--account", "210987654321", "--partition", "aws-us-gov", "--region", "us-gov-west-1")
	n := contract.NamesFor("dev")
	want := []string{n.DiscoverFunction, n.InvokeFunction, n.EnrichFunction, n.CleanupFunction, n.StateMachineRole}
	var roles []string
	for _, p := range got {
		roles = append(roles, p.Role)
		var trust struct {
			Statement []struct{ Principal struct{ Service string } }
		}
		if err := json.Unmarshal(p.Trust, &trust); err != nil || len(trust.Statement) != 1 || trust.Statement[0].Principal.Service != p.Service {
			t.Errorf("%s: trust %s", p.Role, p.Trust)
		}
		var doc struct {
			Statement []struct {
				Action   []string
				Resource []string
			}
		}
		if err := json.Unmarshal(p.Policy, &doc); err != nil || len(doc.Statement) == 0 {
			t.Fatalf("%s: policy %s", p.Role, p.Policy)
		}
		for _, s := range doc.Statement {
			for _, r := range s.Resource {
				if r != "*" && !strings.HasPrefix(r, "arn:aws-us-gov:") {
					t.Errorf("%s: %s is not in the stack's partition", p.Role, r)
				}
			}
			if p.Role == n.DiscoverFunction && slices.Contains(s.Action, "dynamodb:BatchGetItem") &&
				(!slices.Contains(s.Action, "dynamodb:UpdateItem") || !slices.Contains(s.Action, "dynamodb:DeleteItem")) {
				t.Errorf("discover may read statuses but not mark them: %v", s.Action)
			}
		}
	}
	if !slices.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	if code, out := runCLI(t, "policies", "--stack", "dev"); code != ExitOK || !strings.Contains(out, "role "+n.EnrichFunction+" (assumed by lambda.amazonaws.com)") ||
		!strings.Contains(out, `"bedrock:InvokeModel"`) {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
}
