package spec

import (
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestPolicyRejectsWildcardActions(t *testing.T) {
	for _, tc := range []struct {
		actions []string
		ok      bool
	}{
		{[]string{"s3:GetObject"}, true},
		{[]string{"s3:*"}, false},
		{[]string{"dynamodb:Get*"}, false},
		{[]string{"*"}, false},
	} {
		r := Role{Name: "r", Statements: []Statement{{Sid: "S", Actions: tc.actions, Resources: []string{"arn:aws:s3:::b/k"}}}}
		doc, err := r.Policy()
		if (err == nil) != tc.ok {
			t.Errorf("%v: err = %v", tc.actions, err)
		}
		if tc.ok && !strings.Contains(doc, `"Effect":"Allow"`) {
			t.Errorf("%v: %s", tc.actions, doc)
		}
	}
}

type conf struct {
	Table string
	N     int
	Wait  time.Duration
}

var testFn = Function[conf]{
	Key:      "f",
	Name:     func(n contract.Names) string { return n.Stack + "-f" },
	Defaults: func() conf { return conf{N: 7} },
	Vars: []Var[conf]{
		String("TABLE", func(st Stack) string { return st.Names.StatusTable }, func(o *conf) *string { return &o.Table }).Required(),
		Int("N", 2, func(st Stack) int { return st.Settings.MaxAttempts }, func(o *conf) *int { return &o.N }),
		Seconds("WAIT", time.Second, func(st Stack) time.Duration { return st.Settings.SlotWait }, func(o *conf) *time.Duration { return &o.Wait }),
	},
	Calls: func(Stack) []Statement { return nil },
}

// What the program deploys is what the loader reads back, field for field.
func TestEnvironmentRoundTrips(t *testing.T) {
	st := Stack{Names: contract.NamesFor("dev"), Settings: stacks.Settings{MaxAttempts: 3, SlotWait: 90 * time.Second}}
	got, err := testFn.For(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := (conf{Table: st.Names.StatusTable, N: 3, Wait: 90 * time.Second}); got != want {
		t.Errorf("For = %+v, want %+v", got, want)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" for success
	}{
		{"defaults", map[string]string{"TABLE": "t"}, ""},
		{"missing required", map[string]string{"N": "3"}, "TABLE is not set"},
		{"below minimum", map[string]string{"TABLE": "t", "N": "1"}, `N="1"`},
		{"not a number", map[string]string{"TABLE": "t", "WAIT": "1m"}, `WAIT="1m"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := testFn.load(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "" && o.N != 7:
				t.Errorf("default N lost: %+v", o)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to mention %s", err, tc.want)
			}
		})
	}
}

func TestWithout(t *testing.T) {
	r := Role{Statements: []Statement{{Sid: "A"}, {Sid: "B"}}}
	if got := r.Without("A"); len(got.Statements) != 1 || got.Statements[0].Sid != "B" || len(r.Statements) != 2 {
		t.Errorf("Without(A) = %+v (original %+v)", got, r)
	}
}
