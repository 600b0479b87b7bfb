package simulate

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
)

// QuotaStep sets the emulator's quotas At an offset from the start of the run.
type QuotaStep struct {
	At  time.Duration
	RPM int
	TPM int // 0: none
}

// Capacity is how much of the model's capacity a run used, and what it cost.
type Capacity struct {
	// CapacityRatio is the successful model calls ÷ the calls the quotas allowed
	// while work was waiting: from the first call to the last pass1 answer (after it
	// the run only drains, with fewer jobs than slots, whatever the policy).
	CapacityRatio float64 `json:"capacity_ratio"`
	// ThrottledShare is the throttled calls ÷ all calls.
	ThrottledShare float64 `json:"throttled_share"`
	// AttemptsLostToThrottling counts attempts a pass failed with the model's
	// throttling error.
	AttemptsLostToThrottling int `json:"attempts_lost_to_throttling"`
}

// changeQuotas applies steps at their offsets from start until stopped.
func changeQuotas(ctx context.Context, e *bedrockemu.Emulator, start time.Time, steps []QuotaStep) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for _, st := range steps {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(st.At))):
				e.SetQuota(st.RPM, st.TPM)
			}
		}
	}()
	return cancel
}

// capacityUse measures calls against quotas (the first step at offset 0 from start):
// a step allows RPM calls per minute, or fewer when its token quota binds at the
// mean tokens of an answered call.
func capacityUse(calls []bedrockemu.Call, start time.Time, quotas []QuotaStep) Capacity {
	var c Capacity
	var ok, answered, throttled, tokens int
	var first, last time.Time
	for _, call := range calls {
		if first.IsZero() || call.At.Before(first) {
			first = call.At
		}
		switch call.Outcome {
		case string(bedrockemu.Throttle):
			throttled++
		case "ok":
			answered++
			tokens += call.InputTokens + call.OutputTokens
			if call.Pass == contract.Pass1 && call.At.After(last) {
				last = call.At
			}
		}
	}
	for _, call := range calls {
		if call.Outcome == "ok" && !call.At.After(last) {
			ok++
		}
	}
	if len(calls) == 0 || ok == 0 {
		return c
	}
	c.ThrottledShare = float64(throttled) / float64(len(calls))
	perCall := float64(tokens) / float64(answered)
	allowed := 0.0
	steps := append([]QuotaStep(nil), quotas...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	for i, st := range steps {
		from, to := start.Add(st.At), last
		if i+1 < len(steps) && start.Add(steps[i+1].At).Before(to) {
			to = start.Add(steps[i+1].At)
		}
		if first.After(from) {
			from = first
		}
		if !to.After(from) {
			continue
		}
		rate := float64(st.RPM)
		if st.TPM > 0 && (rate == 0 || float64(st.TPM)/perCall < rate) {
			rate = float64(st.TPM) / perCall
		}
		allowed += rate * to.Sub(from).Minutes()
	}
	if allowed > 0 {
		c.CapacityRatio = float64(ok) / allowed
	}
	return c
}

// Throttles says where a run's throttled attempts came from, to tell the causes
// apart: ByPhase counts them per quota step (index i: from step i's offset to the
// next one's), Passes the distinct job passes with at least one throttled attempt
// (Attempts ÷ Passes is the retries a throttled pass costs, the SDK's and the state
// machine's together).
type Throttles struct {
	Attempts int   `json:"attempts"`
	Passes   int   `json:"passes"`
	ByPhase  []int `json:"by_phase"`
}

// throttleCounts counts the throttled calls per quota step (the first at offset 0
// from start) and per job pass.
func throttleCounts(calls []bedrockemu.Call, start time.Time, quotas []QuotaStep) Throttles {
	steps := append([]QuotaStep(nil), quotas...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	t := Throttles{ByPhase: make([]int, len(steps))}
	passes := map[string]bool{}
	for _, call := range calls {
		if call.Outcome != string(bedrockemu.Throttle) {
			continue
		}
		t.Attempts++
		passes[call.Job+"/"+string(call.Pass)] = true
		phase := 0
		for i, st := range steps {
			if !call.At.Before(start.Add(st.At)) {
				phase = i
			}
		}
		if len(steps) > 0 {
			t.ByPhase[phase]++
		}
	}
	t.Passes = len(passes)
	return t
}

// LimitPoint is the limit acquire enforced from At (seconds from the start of the run)
// on, and the slots held when it was first seen.
type LimitPoint struct {
	At    float64 `json:"at_s"`
	Limit int     `json:"limit"`
	Held  int     `json:"held"`
}

// traceLimits samples the semaphore item every interval and records each change of the
// enforced limit, to show how the controller moved it against the capacity phases.
// stop may be called more than once.
func traceLimits(ctx context.Context, sem *semaphore.Semaphore, start time.Time, interval time.Duration) (stop func() []LimitPoint) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan []LimitPoint)
	go func() {
		var trace []LimitPoint
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if st, err := sem.Read(ctx); err == nil && (len(trace) == 0 || trace[len(trace)-1].Limit != st.Limit()) {
				trace = append(trace, LimitPoint{At: time.Since(start).Round(100 * time.Millisecond).Seconds(), Limit: st.Limit(), Held: st.Count})
			}
			select {
			case <-ctx.Done():
				done <- trace
				return
			case <-t.C:
			}
		}
	}()
	return sync.OnceValue(func() []LimitPoint {
		cancel()
		return <-done
	})
}
