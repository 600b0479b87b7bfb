package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestPlanStacks(t *testing.T) {
	tests := []struct {
		stack   string
		binding string
	}{
		// dev: 5 slots at 30 s per call allow 3.3 jobs/min; 100 requests/min allow 33.3.
		{"dev", stacks.LimitConcurrency},
		// prod: 50 slots allow 33.3 jobs/min, as many as 100 requests/min.
		{"prod", stacks.LimitConcurrency},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			var p planReport
			runJSON(t, ExitOK, &p, "plan", "--stack", tt.stack, "--jobs", "1000")
			s, err := stackSettings(tt.stack)
			if err != nil {
				t.Fatal(err)
			}
			// 1,000 jobs of the assumed tokens on the stack's models, priced independently.
			want := 0.0
			for i, m := range s.Models() {
				if m != stacks.DefaultModel {
					t.Skipf("stack %s tunes its models; the expected cost assumes %s", tt.stack, stacks.DefaultModel)
				}
				want += float64(planInputTokens[i])*0.15/1e6*1000 + float64(planOutputTokens[i])*0.60/1e6*1000
			}
			if p.Binding != tt.binding || !p.Priced || p.Jobs != 1000 {
				t.Fatalf("%+v", p)
			}
			if d := p.CostPer1000Jobs - want; d > 1e-4 || d < -1e-4 {
				t.Fatalf("cost per 1,000 jobs %.4f, want %.4f", p.CostPer1000Jobs, want)
			}
			// The last job starts after 1,000 / rate and ends one job (3 calls) later.
			if hours := 1000/p.JobsPerMinute/60 + 3*s.ExpectedPassLatency.Hours(); p.Hours-hours > 0.01 || hours-p.Hours > 0.01 {
				t.Fatalf("hours %.3f, want %.3f", p.Hours, hours)
			}
		})
	}
}

func TestPlanDiscoveryCapAndSmallBacklogs(t *testing.T) {
	var p planReport
	runJSON(t, ExitOK, &p, "plan", "--stack", "prod", "--jobs", "1000")
	// prod: 10 partitions × 100 jobs per hour = 16.7 jobs/min, below the 33.3 it can run.
	if p.ByDiscovery == nil || *p.ByDiscovery != 16.67 || p.HoursThroughDiscovery <= p.Hours || p.CostUSD <= 0 {
		t.Fatalf("%+v", p)
	}
	var discovery, quota bool
	for _, w := range p.Warnings {
		discovery = discovery || strings.Contains(w, "discovery publishes at most 16.7 jobs per minute")
		quota = quota || strings.Contains(w, "100 % of the Bedrock quota")
	}
	if !discovery || !quota {
		t.Fatalf("warnings %q lack the discovery cap or the full quota", p.Warnings)
	}
	out := runText(t, "plan", "--stack", "prod", "--jobs", "1")
	for _, want := range []string{"1 job takes:          1.5 minutes once queued", "cost of 1 job:", "models: openai.gpt-oss-120b-1:0, "} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.0 hours") || strings.Contains(out, "[") {
		t.Errorf("text:\n%s", out)
	}
}

func TestPlanUsage(t *testing.T) {
	if code, out := runCLI(t, "plan", "--jobs", "0"); code != ExitUsage {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestCapacityWarnings(t *testing.T) {
	base, err := stacks.Defaults("prod")
	if err != nil {
		t.Fatal(err)
	}
	// Discovery publishing far more than the pipeline runs: not the subject here.
	base.MaxPartitionsPerRun, base.MaxJobsPerPartition = 744, 1000
	tests := []struct {
		name     string
		slots    int
		rpm, tpm int
		want     string // "" for no warning
	}{
		{"headroom", 40, 100, 0, ""},
		// 50 slots at 30 s make 100 requests per minute: the whole quota.
		{"at the quota", 50, 100, 0, "100 % of the Bedrock quota of 100"},
		// 200 slots keep 200 calls in flight per 30 s; 100 requests/min serve 50.
		{"idle slots", 200, 100, 0, "lower it to 50"},
		// 22,000 tokens per job: 100,000 tokens/min serve 4.5 jobs/min, 7 slots.
		{"tokens bind", 50, 1000, 100000, "keeps only 7 slots busy"},
		{"unused quota", 10, 1000, 0, "maxConcurrentExecutions 500 would use it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.MaxConcurrentExecutions, s.BedrockRPM, s.BedrockTPM, s.ExpectedPassLatency = tt.slots, tt.rpm, tt.tpm, 30*time.Second
			w := capacityWarnings(s, stacks.Plan(s, 1, stacks.Usage{InputTokens: planInputTokens, OutputTokens: planOutputTokens}))
			switch {
			case tt.want == "" && len(w) > 0:
				t.Fatalf("unexpected warning %q", w)
			case tt.want != "" && (len(w) != 1 || !strings.Contains(w[0], tt.want)):
				t.Fatalf("warnings %q, want one containing %q", w, tt.want)
			}
		})
	}
}
