package workflow

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func testEnv(contract.Names) contract.Account {
	return contract.Account{Partition: "aws", Region: "us-east-1", ID: "123456789012"}
}

func pipelineFor(t testing.TB, stack string) *StateMachine {
	t.Helper()
	s, err := stacks.Defaults(stack)
	if err != nil {
		t.Fatal(err)
	}
	n := contract.NamesFor(stack)
	m, err := Pipeline(n, s, testEnv(n))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPipelineGolden(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			got, err := pipelineFor(t, stack).JSON()
			if err != nil {
				t.Fatal(err)
			}
			again, err := pipelineFor(t, stack).JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("two renderings of the same definition differ")
			}
			path := filepath.Join("testdata", "pipeline-"+stack+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rendered definition differs from %s; review the change and run go test -update", path)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	all := []string{statesAll}
	cases := []struct {
		name  string
		build func(m *StateMachine)
		want  string
	}{
		{"unknown start", func(m *StateMachine) { m.StartAt = "Nope"; m.Add("A", &Succeed{}) }, `StartAt "Nope"`},
		{"duplicate name", func(m *StateMachine) { m.Add("A", &Succeed{}); m.Add("A", &Succeed{}) }, "name used twice"},
		{"next and end", func(m *StateMachine) { m.Add("A", &Pass{Next: "B", End: true}); m.Add("B", &Succeed{}) }, "exactly one of Next and End"},
		{"neither next nor end", func(m *StateMachine) { m.Add("A", &Pass{}) }, "exactly one of Next and End"},
		{"unknown target", func(m *StateMachine) { m.Add("A", &Pass{Next: "Z"}) }, `unknown state "Z"`},
		{"unreachable", func(m *StateMachine) { m.Add("A", &Succeed{}); m.Add("B", &Succeed{}) }, "unreachable"},
		{"no terminal", func(m *StateMachine) {
			m.Add("A", &Wait{Seconds: 1, Next: "B"})
			m.Add("B", &Wait{Seconds: 1, Next: "A"})
		}, "no terminal state reachable"},
		{"States.ALL not alone", func(m *StateMachine) {
			m.Add("A", &Task{Resource: "r", End: true, Catch: []Catch{{ErrorEquals: []string{statesAll, "X"}, Next: "A"}}})
		}, "alone"},
		{"States.ALL not last", func(m *StateMachine) {
			m.Add("A", &Task{Resource: "r", End: true, Retry: []Retry{{ErrorEquals: all}, {ErrorEquals: []string{"X"}}}})
		}, "last"},
		{"dollar key without path", func(m *StateMachine) {
			m.Add("A", &Task{Resource: "r", End: true, Parameters: Params{"x.$": "literal"}})
		}, "neither a path nor an intrinsic"},
		{"path without dollar key", func(m *StateMachine) {
			m.Add("A", &Task{Resource: "r", End: true, Parameters: Params{"in": Params{"x": "$.job"}}})
		}, `lacks ".$"`},
		{"Path comparator with literal", func(m *StateMachine) {
			m.Add("A", &Choice{Choices: []Rule{{When: Compare("$.a", StringEqualsPath, "b"), Next: "B"}}, Default: "B"})
			m.Add("B", &Succeed{})
		}, "needs a path"},
		{"bad jitter", func(m *StateMachine) {
			m.Add("A", &Task{Resource: "r", End: true, Retry: []Retry{{ErrorEquals: []string{"X"}, JitterStrategy: "HALF"}}})
		}, "JitterStrategy"},
		{"wait without duration", func(m *StateMachine) { m.Add("A", &Wait{End: true}) }, "Seconds and SecondsPath"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &StateMachine{StartAt: "A"}
			c.build(m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestValidateAcceptsChoiceOperators(t *testing.T) {
	m := &StateMachine{StartAt: "C"}
	m.Add("C", &Choice{
		Choices: []Rule{
			{When: Or(Not(Present("$.a")), Compare("$.a", NumericLessThanEqualsPath, "$.b")), Next: "S"},
			{When: And(Compare("$.s", StringMatches, "job-*"), Compare("$.t", TimestampGreaterThanPath, "$$.State.EnteredTime")), Next: "S"},
		},
		Default: "S",
	})
	m.Add("S", &Succeed{})
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Or": [`, `"Not": {`, `"NumericLessThanEqualsPath": "$.b"`, `"StringMatches": "job-*"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered choice lacks %s:\n%s", want, out)
		}
	}
}

// TestSlotReleasedOnEveryPath checks the graph: once a slot may be held, no terminal
// state is reachable without passing a release state.
func TestSlotReleasedOnEveryPath(t *testing.T) {
	m := pipelineFor(t, "dev")
	index := map[string]State{}
	for _, n := range m.states {
		index[n.name] = n.state
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] || name == StateReleaseSlot || name == StateReleaseOnFail || name == StateReleaseToDefer {
			return
		}
		seen[name] = true
		if isTerminal(index[name]) {
			t.Errorf("terminal state %s is reachable while a slot is held", name)
		}
		for _, e := range index[name].targets() {
			walk(e.to)
		}
	}
	walk(StateAcquireSlot)
	for _, release := range []string{StateReleaseSlot, StateReleaseOnFail, StateReleaseToDefer} {
		task := index[release].(*Task)
		if len(task.Catch) == 0 || task.Catch[0].ErrorEquals[0] != statesAll {
			t.Errorf("%s must catch every error", release)
		}
	}
}

func TestPassRetryPolicies(t *testing.T) {
	m := pipelineFor(t, "prod")
	s, _ := stacks.Defaults("prod")
	for _, pass := range contract.Passes {
		task := m.State(RunPass(pass)).(*Task)
		retried := map[string]Retry{}
		for _, r := range task.Retry {
			for _, e := range r.ErrorEquals {
				retried[e] = r
			}
		}
		for _, never := range []string{"Lambda.Unknown", "States.Timeout", statesAll, contract.ErrNameInvalidRequest, contract.ErrNameNoJSON, contract.ErrNameInvalidOutput, contract.ErrNameInvalidInput} {
			if _, ok := retried[never]; ok {
				t.Errorf("%s retries %s", pass, never)
			}
		}
		if r := retried["Lambda.ServiceException"]; r.IntervalSeconds != 2 || r.BackoffRate != 2 || r.MaxAttempts != 6 || r.JitterStrategy != "FULL" {
			t.Errorf("%s Lambda service retry = %+v", pass, r)
		}
		if r := retried[contract.ErrNameThrottled]; r.MaxDelaySeconds != int(s.ThrottleRetryMaxDelay.Seconds()) || r.MaxAttempts != s.ThrottleRetryAttempts {
			t.Errorf("%s throttle retry = %+v", pass, r)
		}
		// Capacity trouble defers the job; an earlier result gone from Bronze runs the
		// passes again from the first; everything else fails the attempt.
		catch := task.Catch
		if pass != contract.Pass1 {
			if len(catch) != 3 || catch[1].ErrorEquals[0] != contract.ErrNamePreviousMissing || catch[1].Next != StateForget {
				t.Errorf("%s catch = %+v", pass, task.Catch)
				continue
			}
			catch = slices.Delete(slices.Clone(catch), 1, 2)
		}
		if len(catch) != 2 || catch[0].Next != StateCapacity || !slices.Contains(catch[0].ErrorEquals, contract.ErrNameThrottled) ||
			catch[1].ErrorEquals[0] != statesAll || catch[1].Next != PassFailed(pass) {
			t.Errorf("%s catch = %+v", pass, task.Catch)
		}
	}
}

func TestPermissionsAreScoped(t *testing.T) {
	n := contract.NamesFor("dev")
	got := pipelineFor(t, "dev").Permissions()
	want := map[string]string{
		"arn:aws:dynamodb:us-east-1:123456789012:table/" + n.StatusTable:    "dynamodb:UpdateItem",
		"arn:aws:dynamodb:us-east-1:123456789012:table/" + n.SemaphoreTable: "dynamodb:UpdateItem",
		testEnv(n).FunctionARN(n.EnrichFunction):                            "lambda:InvokeFunction",
		"arn:aws:sqs:us-east-1:123456789012:" + n.Queue:                     "sqs:SendMessage",
		"*": "states:SendTaskSuccess", // the one action AWS authorises only on "*"
	}
	if len(got) != len(want) {
		t.Fatalf("permissions = %+v, want %d statements", got, len(want))
	}
	for _, p := range got {
		if len(p.Actions) != 1 || want[p.Resources[0]] != p.Actions[0] {
			t.Errorf("unexpected statement %+v", p)
		}
		for _, r := range p.Resources {
			if strings.Contains(r, "*") && !strings.HasSuffix(r, ":*") && p.Actions[0] != "states:SendTaskSuccess" {
				t.Errorf("wildcard resource %s", r)
			}
		}
	}
}

func TestMermaid(t *testing.T) {
	out := pipelineFor(t, "dev").Mermaid()
	for _, want := range []string{
		"flowchart TD",
		"start((start)) --> ClaimJob",
		"ResumeAtFirstIncompletePass{ResumeAtFirstIncompletePass}",
		`RunPass1 -.->|"States.ALL"| Pass1Failed`,
		"WaitForSlot --> AcquireSlot",
		"Enriched((Enriched))",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagram lacks %q:\n%s", want, out)
		}
	}
}

func TestPipelineRejectsIncompleteEnv(t *testing.T) {
	s, _ := stacks.Defaults("dev")
	if _, err := Pipeline(contract.NamesFor("dev"), s, contract.Account{Region: "us-east-1"}); err == nil {
		t.Fatal("Pipeline accepted an account without partition and id")
	}
	s.MaxAttempts = 0
	n := contract.NamesFor("dev")
	if _, err := Pipeline(n, s, testEnv(n)); err == nil {
		t.Fatal("Pipeline accepted MaxAttempts 0")
	}
}
