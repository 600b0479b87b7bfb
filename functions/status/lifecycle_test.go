package status

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// bound is every transition as writers use it: the pass transitions bound to a pass.
func bound() []Transition {
	var out []Transition
	for _, t := range Lifecycle {
		if strings.Contains(t.Update, "#pass ") {
			for _, p := range contract.Passes {
				out = append(out, t.ForPass(p))
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

func TestTransitionsUseOnlyDeclaredNames(t *testing.T) {
	for _, tr := range bound() {
		for n, attr := range tr.Names() {
			if attr == "" {
				t.Errorf("%s uses undeclared name %s", tr.Name, n)
			}
		}
		if tr.Name == "" || tr.Comment == "" || len(tr.Writers) == 0 || len(tr.From) == 0 || tr.Update == "" || tr.Condition == "" {
			t.Errorf("transition %+v is incomplete", tr)
		}
	}
}

func TestTransitionArgs(t *testing.T) {
	for _, tt := range []struct {
		t    Transition
		want []string
	}{
		{Queue, []string{":max", ":now", ":partition", ":token"}},
		{QueueForced, []string{":now", ":partition", ":token"}},
		{Unqueue, []string{":now", ":prev", ":pub"}},
		{Claim, []string{":exec", ":force", ":max", ":now", ":pub"}},
		{Count, []string{":attempt", ":exec", ":now"}},
		{Fail, []string{":err", ":exec", ":max", ":now"}},
		{GiveUp, []string{":err", ":exec", ":max", ":now"}},
		{Requeue, []string{":now", ":seen", ":seenat", ":token"}},
		{Retry, []string{":now", ":seen", ":seenat", ":token"}},
		{Complete, []string{":exec", ":now", ":pass"}},
	} {
		if got := tt.t.Args(); !slices.Equal(got, tt.want) {
			t.Errorf("%s args = %v, want %v", tt.t.Name, got, tt.want)
		}
	}
	if _, err := Queue.Input("t", "1", nil); err == nil {
		t.Error("Input without its arguments must fail")
	}
}

// Every hand-over to a new message or execution counts a publication, so no
// execution name is reused (issue 11 L1-L4).
func TestHandOversCountAPublication(t *testing.T) {
	for _, tr := range Lifecycle {
		hands := tr.To == contract.StatusQueued
		if counts := strings.Contains(tr.Update, "ADD #pub :one"); counts != hands {
			t.Errorf("%s reaches %q and counts a publication: %v", tr.Name, tr.To, counts)
		}
	}
}

func TestEveryStatusIsReachedAndLeft(t *testing.T) {
	reached, left := map[string]bool{}, map[string]bool{}
	for _, tr := range Lifecycle {
		reached[tr.To] = true
		for _, f := range tr.From {
			left[f] = true
		}
	}
	for _, st := range Overall {
		if !reached[st] {
			t.Errorf("no transition reaches %s", st)
		}
		terminal := st == contract.StatusCompleted || st == contract.StatusPermanentlyFailed
		if !terminal && !left[st] {
			t.Errorf("no transition leaves %s", st)
		}
	}
}

func TestTimestampSortsWithStepFunctionsTimes(t *testing.T) {
	// $$.State.EnteredTime looks like 2019-03-26T20:14:13.192Z.
	got := Timestamp(time.Date(2019, 3, 26, 20, 14, 13, 192_000_000, time.FixedZone("x", 3600)))
	if got != "2019-03-26T19:14:13.192Z" {
		t.Errorf("Timestamp = %s", got)
	}
	if Timestamp(time.Date(2019, 3, 26, 20, 14, 13, 0, time.UTC)) != "2019-03-26T20:14:13.000Z" {
		t.Error("whole seconds keep their milliseconds, so strings sort as times")
	}
}

func TestMermaidDrawsEveryTransition(t *testing.T) {
	m := Mermaid()
	for _, tr := range Lifecycle {
		if !strings.Contains(m, ": "+tr.Name+" (") {
			t.Errorf("diagram lacks %s", tr.Name)
		}
	}
}
