package bedrockemu

import (
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestWindowAdmit(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type call struct {
		after  time.Duration
		tokens int
		want   bool
	}
	tests := []struct {
		name     string
		rpm, tpm int
		calls    []call
	}{
		{"no quota admits everything", 0, 0, []call{{0, 1e9, true}, {0, 1e9, true}}},
		{"requests per minute", 2, 0, []call{{0, 1, true}, {time.Second, 1, true}, {2 * time.Second, 1, false}}},
		{"a slot frees a minute after its call", 1, 0, []call{{0, 1, true}, {59 * time.Second, 1, false}, {60 * time.Second, 1, true}}},
		{"tokens per minute", 0, 100, []call{{0, 60, true}, {time.Second, 50, false}, {time.Second, 40, true}, {2 * time.Second, 1, false}}},
		{"tokens free up as the window slides", 0, 100, []call{{0, 60, true}, {30 * time.Second, 40, true}, {61 * time.Second, 60, true}, {62 * time.Second, 1, false}}},
		{"throttled calls do not consume quota", 1, 0, []call{{0, 1, true}, {time.Second, 1, false}, {60 * time.Second, 1, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			for i, c := range tt.calls {
				if got := w.admit(t0.Add(c.after), c.tokens, tt.rpm, tt.tpm); got != c.want {
					t.Fatalf("call %d at +%s (%d tokens): admitted %v, want %v", i, c.after, c.tokens, got, c.want)
				}
			}
		})
	}
}

func TestRuleMatches(t *testing.T) {
	tests := []struct {
		rule Rule
		job  string
		pass string
		want bool
	}{
		{Rule{}, "1", "pass1", true},
		{Rule{Job: "1"}, "1", "pass2", true},
		{Rule{Job: "1"}, "2", "pass2", false},
		{Rule{Pass: "pass2"}, "9", "pass2", true},
		{Rule{Pass: "pass2"}, "9", "pass3", false},
		{Rule{Job: "1", Pass: "pass3"}, "1", "pass3", true},
	}
	for _, tt := range tests {
		if got := tt.rule.matches(tt.job, contract.Pass(tt.pass)); got != tt.want {
			t.Errorf("%+v matches(%s, %s) = %v, want %v", tt.rule, tt.job, tt.pass, got, tt.want)
		}
	}
}

func TestCutKeepsRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 3, "abc"},
		{"abc", 10, "abc"},
		{"aé", 2, "a"}, // 'é' is two bytes: never split it
		{"日本", 4, "日"},
	}
	for _, tt := range tests {
		if got := cut(tt.s, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestSetQuotaKeepsTheWindow: halving the quota mid-minute counts the calls already
// admitted in that minute against the new quota.
func TestSetQuotaKeepsTheWindow(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e := New(Options{Now: func() time.Time { return now }})
	e.SetFaults(Faults{RequestsPerMinute: 4})
	for i := range 3 {
		if k := e.decide(Call{}); k != "" {
			t.Fatalf("call %d: %q, want admitted", i, k)
		}
	}
	e.SetQuota(2, 0)
	if k := e.decide(Call{}); k != Throttle {
		t.Fatalf("after halving the quota: %q, want %q (3 calls already in the minute)", k, Throttle)
	}
	now = now.Add(61 * time.Second)
	if k := e.decide(Call{}); k != "" {
		t.Fatalf("a minute later: %q, want admitted", k)
	}
}
