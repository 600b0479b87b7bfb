package e2e

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// monitor wraps EnrichPartition. It crashes chosen calls the way a Lambda runtime
// exits, and it watches two invariants from inside the function: no two executions
// are inside a pass of the same job at once, and when a pass's Bronze result was
// first stored (so the model call log can show whether a cached pass was re-sent).
type monitor struct {
	crashEvery int // a job whose id hashes to 1 or 2 modulo crashEvery crashes once

	mu       sync.Mutex
	inside   map[string]map[string]int // job → execution → calls in flight
	calls    map[string]int            // job/pass → calls so far
	stored   map[string]time.Time      // job/pass → first time its Bronze result existed
	overlaps []string
	crashes  int
}

func newMonitor(crashEvery int) *monitor {
	return &monitor{
		crashEvery: crashEvery,
		inside:     map[string]map[string]int{}, calls: map[string]int{}, stored: map[string]time.Time{},
	}
}

// crash says where a job's first call of a pass crashes: before the handler runs (the
// pass left undone) or after it returned (the Bronze result stored, the answer lost).
type crash int

const (
	noCrash crash = iota
	crashBefore
	crashAfter
)

func (m *monitor) plan(job string, pass contract.Pass, call int) crash {
	if m.crashEvery == 0 || call != 1 {
		return noCrash
	}
	switch r := int(hash(job)) % m.crashEvery; {
	case r == 1 && pass == contract.Pass2:
		return crashBefore
	case r == 2 && pass == contract.Pass3:
		return crashAfter
	}
	return noCrash
}

func key(job string, pass contract.Pass) string { return job + "/" + string(pass) }

// wrap returns the monitored handler.
func (m *monitor) wrap(next func(context.Context, contract.PassInput) (contract.PassOutput, error)) func(context.Context, contract.PassInput) (contract.PassOutput, error) {
	return func(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
		job, k := in.JobData.JobPostingID, key(in.JobData.JobPostingID, in.PassName)
		m.mu.Lock()
		m.calls[k]++
		c := m.plan(job, in.PassName, m.calls[k])
		if m.inside[job] == nil {
			m.inside[job] = map[string]int{}
		}
		for other, n := range m.inside[job] {
			if other != in.ExecutionID && n > 0 {
				m.overlaps = append(m.overlaps, fmt.Sprintf("job %s: %s entered %s while %s was inside a pass", job, in.ExecutionID, in.PassName, other))
			}
		}
		m.inside[job][in.ExecutionID]++
		if c != noCrash {
			m.crashes++
		}
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			m.inside[job][in.ExecutionID]--
			m.mu.Unlock()
		}()
		if c == crashBefore {
			panic("chaos: runtime crash before the pass")
		}
		out, err := next(ctx, in)
		if err == nil && out.Success {
			m.mu.Lock()
			if _, ok := m.stored[k]; !ok {
				m.stored[k] = time.Now()
			}
			m.mu.Unlock()
		}
		if c == crashAfter {
			panic("chaos: runtime crash after the pass")
		}
		return out, err
	}
}

// firstStored is when the Bronze result of job/pass was first stored.
func (m *monitor) firstStored(job string, pass contract.Pass) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.stored[key(job, pass)]
	return t, ok
}

func (m *monitor) report() (overlaps []string, crashes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.overlaps...), m.crashes
}
