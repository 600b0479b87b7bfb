package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/cli"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
)

// updateItem is the operation the lost acknowledgements hit.
const updateItem = "DynamoDB_20120810.UpdateItem"

// loseAcks makes the gateway lose the answer of every n-th QUEUED mark (discovery's
// status.Queue on the status table) and of every n-th AcquireSlot of the state
// machine, after DynamoDB applied them: the SDK's retry of a mark and the state
// machine's retry of an acquire meet their own committed write (L4, L6).
func loseAcks(c *localcloud.Cloud, st *localrun.Stack, marks, acquires int) (marked, acquired *localcloud.AnswerFault) {
	marked = c.LoseAnswers(localcloud.LostAnswer{Target: updateItem, Table: st.Names.StatusTable, Contains: status.Queue.Update, Every: marks, Limit: 1 << 30})
	acquired = c.LoseAnswers(localcloud.LostAnswer{Target: updateItem, Table: st.Names.SemaphoreTable, Contains: workflow.AcquireUpdate, Every: acquires, Limit: 1 << 30})
	if marks == 0 {
		marked.Stop()
	}
	if acquires == 0 {
		acquired.Stop()
	}
	return marked, acquired
}

// discoverTwice runs the scheduled discovery and a backfill of the given partitions
// at the same time (an EventBridge retry beside the hourly run, an operator's
// backfill beside it) and returns the jobs both published.
func discoverTwice(ctx context.Context, st *localrun.Stack, partitions []string) (int, error) {
	var wg sync.WaitGroup
	res := make([]discover.Result, 2)
	errs := make([]error, 2)
	for i, ev := range []discover.Event{{}, {Partitions: partitions}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = st.Discover.Handle(ctx, ev)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return res[0].Published + res[1].Published, nil
}

// writeLate adds a file of n new jobs to a partition discovery has passed (late
// Silver within lateLookback, L10).
func writeLate(ctx context.Context, st *localrun.Stack, p silver.Partition, n int) error {
	s := st.Settings
	key := sample.FileKey(s.SilverPrefix, p, 1)
	return sample.PutFile(ctx, s3.NewFromConfig(st.Config), s.SilverBucket, key, sample.NewGenerator(17).Rows(p, n))
}

// modelPhases are the emulator's faults over the run: the scenario's own faults, then
// an outage (every call 503 ServiceUnavailable), then a brown-out (every admitted call
// hangs past the client's read timeout), then the scenario's steady faults (latency,
// quota, error rate: the counted rules are spent). failing always fails one job's
// calls with a ValidationException, so it ends PERMANENTLY_FAILED, before and after
// an operator's retry.
type modelPhases struct {
	base             bedrockemu.Faults
	outage, brownout time.Duration
	readTimeout      time.Duration
	failing          string
	outageAt         time.Duration // after the start
	outageCalls      int
}

func (m *modelPhases) with(f bedrockemu.Faults, rules ...bedrockemu.Rule) bedrockemu.Faults {
	if m.failing != "" {
		rules = append(rules, bedrockemu.Rule{Job: m.failing, Kind: bedrockemu.Invalid})
	}
	f.Rules = append(rules, f.Rules...)
	return f
}

// run applies the phases until they are over or ctx ends. A phase lasts its duration
// and, so it is never empty, until a model call met it (at most four times as long).
func (m *modelPhases) run(ctx context.Context, e *bedrockemu.Emulator) {
	steady := m.base
	steady.Rules = nil
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	phase := func(f bedrockemu.Faults, d time.Duration) (calls int, ok bool) {
		before := len(e.Calls())
		e.SetFaults(f)
		if !sleep(d) {
			return 0, false
		}
		for waited := d; len(e.Calls()) == before && waited < 4*d; waited += time.Second {
			if !sleep(time.Second) {
				return 0, false
			}
		}
		return len(e.Calls()) - before, true
	}
	if !sleep(m.outageAt) {
		return
	}
	ok := true
	if m.outage > 0 {
		m.outageCalls, ok = phase(m.with(steady, bedrockemu.Rule{Kind: bedrockemu.Unavailable}), m.outage)
	}
	if ok && m.brownout > 0 {
		hang := steady
		hang.Latency = 2 * m.readTimeout
		_, ok = phase(m.with(hang), m.brownout)
	}
	if ok {
		e.SetFaults(m.with(steady))
	}
}

// hungCalls counts the calls the brown-out held until the client gave up.
func hungCalls(calls []bedrockemu.Call) int {
	n := 0
	for _, c := range calls {
		if c.Outcome == "canceled" {
			n++
		}
	}
	return n
}

// operatorRetry waits until job's attempt failed (FAILED or PERMANENTLY_FAILED, no
// claim), then runs `enrichctl retry` on it (the CLI's code path, in-process, against
// the local cloud) and returns the publication the retry started. A retry refused
// because discovery queued the job meanwhile waits for the next failure. The job's
// calls keep failing, so it ends PERMANENTLY_FAILED after the retry's fresh budget.
func operatorRetry(ctx context.Context, st *localrun.Stack, job string) (int, error) {
	store := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable)
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		j, err := store.Get(ctx, job)
		if err != nil || j.Execution != "" || (j.Overall != contract.StatusFailed && j.Overall != contract.StatusPermanentlyFailed) {
			continue
		}
		var out, errOut bytes.Buffer
		code := cli.Run(ctx, cli.IO{Out: &out, Err: &errOut},
			[]string{"retry", job, "--stack", st.Names.Stack, "--local", "--endpoint", st.Cloud.Endpoint(), "--json"})
		switch code {
		case cli.ExitRefused:
			continue
		case cli.ExitOK:
		default:
			return 0, fmt.Errorf("enrichctl retry %s: exit %d: %s", job, code, errOut.String())
		}
		var r struct{ Execution string }
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			return 0, fmt.Errorf("enrichctl retry output %q: %w", out.String(), err)
		}
		_, p, ok := publicationOf(r.Execution)
		if !ok {
			return 0, fmt.Errorf("enrichctl retry started %q, not a publication's execution", r.Execution)
		}
		return p, nil
	}
}

// changeLimit deploys a lower maxConcurrentExecutions, then the original again, as
// `pulumi up` would (InvokeEnrichment's next batch writes it with
// semaphore.Configure), and returns the highest slot count seen once the lower limit
// had been applied for settle.
func changeLimit(ctx context.Context, st *localrun.Stack, lower int, hold, settle time.Duration) (peak int, err error) {
	s := st.Settings
	low := s
	low.MaxConcurrentExecutions = lower
	if err := st.Redeploy(low); err != nil {
		return 0, err
	}
	sem := semaphore.New(dynamodb.NewFromConfig(st.Config), st.Names.SemaphoreTable)
	start := time.Now()
	for time.Since(start) < hold && ctx.Err() == nil {
		time.Sleep(time.Second)
		slots, err := sem.Read(ctx)
		if err != nil {
			continue
		}
		if slots.Max != lower {
			start = time.Now() // not applied yet: no batch since the deploy
			continue
		}
		if time.Since(start) > settle {
			peak = max(peak, slots.Count)
		}
	}
	return peak, st.Redeploy(s)
}
