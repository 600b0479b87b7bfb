package controller

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

func TestSignalOf(t *testing.T) {
	throttled := &contract.Error{Name: contract.ErrNameThrottled, Message: "slow down"}
	for _, tc := range []struct {
		name string
		out  contract.PassOutput
		err  error
		sig  Signal
		ok   bool
	}{
		{"answered", contract.PassOutput{Success: true}, nil, Success, true},
		{"from the cache: says nothing", contract.PassOutput{Success: true, Cached: true}, nil, 0, false},
		{"throttled", contract.PassOutput{}, throttled, Throttled, true},
		{"throttled, wrapped", contract.PassOutput{}, errors.Join(errors.New("pass1"), throttled), Throttled, true},
		{"invalid answer: not capacity", contract.PassOutput{}, &contract.Error{Name: contract.ErrNameTransient}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if sig, ok := SignalOf(tc.out, tc.err); sig != tc.sig || ok != tc.ok {
				t.Fatalf("SignalOf = %v, %v; want %v, %v", sig, ok, tc.sig, tc.ok)
			}
		})
	}
}

// TestObserve drives the shell against the semaphore item in the local cloud: the
// deploy wrote the initial limit, the first throttle cuts it, a throttle within the
// cooldown of a decrease changes nothing but restarts the round of successes, one
// right after an increase cuts at once (the increase overshot), a full round of
// successes with every slot busy adds a step, and an item without a limit (written
// before the deploy seeded one) gets the initial limit at the first signal, not a cut
// from the maximum.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	db, names := provision(t, "ctl", 5, 4)
	sem := semaphore.New(db, names.SemaphoreTable)
	var emf bytes.Buffer
	set := Settings{Min: 1, Max: 5, Initial: 4, Step: 1, Decrease: 0.5, Cooldown: time.Minute, SuccessesPerSlot: 2}
	c := New(sem, set, "ctl", metrics.New(&emf, contract.MetricsNamespace), slog.New(slog.DiscardHandler))
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	limit := func() int {
		st, err := sem.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Limit()
	}
	observe := func(sig Signal, want int, why string) {
		t.Helper()
		if err := c.Observe(ctx, sig); err != nil {
			t.Fatal(err)
		}
		if got := limit(); got != want {
			t.Fatalf("%s: limit %d, want %d", why, got, want)
		}
	}
	if got := limit(); got != 4 {
		t.Fatalf("the deployed item's limit is %d, want the initial 4", got)
	}
	observe(Throttled, 2, "the first throttle")
	if !strings.Contains(emf.String(), contract.MetricEffectiveLimit) {
		t.Errorf("no %s metric written: %q", contract.MetricEffectiveLimit, emf.String())
	}
	observe(Throttled, 2, "a throttle within the cooldown of the decrease")
	localcloud.SetSemaphoreCount(t, db, names.SemaphoreTable, 2)
	for range 4 {
		observe(Success, 2, "a full round, but within the cooldown")
	}
	observe(Throttled, 2, "another throttle within the cooldown")
	clock = clock.Add(2 * time.Minute)
	for range 3 {
		observe(Success, 2, "the round restarted at the throttle") // the successes before it prove nothing
	}
	localcloud.SetSemaphoreCount(t, db, names.SemaphoreTable, 1)
	observe(Success, 2, "a full round with a slot idle") // the limit is not what binds
	localcloud.SetSemaphoreCount(t, db, names.SemaphoreTable, 2)
	observe(Success, 3, "a full round with every slot busy")
	observe(Throttled, 1, "a throttle right after an increase") // it overshot: no cooldown

	// An item from before the deploy seeded a limit: none, and no memory.
	if err := sem.Configure(ctx, semaphore.Config{Max: 5}); err != nil {
		t.Fatal(err)
	}
	observe(Throttled, 4, "the first throttle on an item without a limit")
}

// TestPausedPassesHoldOff: a throttle arms the stack-wide pause in the semaphore item;
// a pass within it fails fast with CircuitOpen and never reaches the model; throttles
// of calls started before it neither cut the limit again nor extend it; a throttle
// right after it doubles it without a cut; after it the passes call the model again.
func TestPausedPassesHoldOff(t *testing.T) {
	ctx := context.Background()
	db, names := provision(t, "ctlp", 8, 8)
	sem := semaphore.New(db, names.SemaphoreTable)
	set := Settings{Min: 1, Max: 8, Initial: 8, Step: 1, Decrease: 0.5, Cooldown: time.Second, SuccessesPerSlot: 2}
	c := New(sem, set, "ctlp", metrics.New(&bytes.Buffer{}, contract.MetricsNamespace), slog.New(slog.DiscardHandler))
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	calls := 0
	var outcome error
	cached := false
	pass := c.Observing(func(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
		if cached { // served from Bronze: no model call, so nothing to hold
			return contract.PassOutput{Success: true, Cached: true}, nil
		}
		if err := llm.Held(ctx); err != nil { // what llm.Client.Converse asks first
			return contract.PassOutput{}, &contract.Error{Name: llm.Kind(err), Message: err.Error()}
		}
		calls++
		return contract.PassOutput{Success: true}, outcome
	})
	run := func(why string, wantCalls int, wantErr string) {
		t.Helper()
		_, err := pass(ctx, contract.PassInput{})
		var ce *contract.Error
		switch {
		case wantErr == "" && err != nil, wantErr != "" && (!errors.As(err, &ce) || ce.Name != wantErr):
			t.Fatalf("%s: error %v, want %q", why, err, wantErr)
		case calls != wantCalls:
			t.Fatalf("%s: %d model calls, want %d", why, calls, wantCalls)
		}
	}
	state := func(why string, limit int, until time.Time) {
		t.Helper()
		st, err := sem.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Limit() != limit || !st.PausedUntil.Equal(until) {
			t.Fatalf("%s: limit %d paused until %v; want %d, %v", why, st.Limit(), st.PausedUntil, limit, until)
		}
	}
	throttled := &contract.Error{Name: contract.ErrNameThrottled, Message: "slow down"}
	outcome = throttled
	run("the first throttle", 1, contract.ErrNameThrottled)
	t0 := clock
	state("the first throttle cuts and pauses", 4, t0.Add(FirstPause))
	clock = clock.Add(2 * time.Second) // past the cooldown, within the pause
	outcome = nil
	run("a pass within the pause", 1, contract.ErrNameCircuitOpen)
	cached = true
	run("a pass served from the cache within the pause", 1, "")
	cached = false
	if err := c.Observe(ctx, Throttled); err != nil { // a call started before the pause
		t.Fatal(err)
	}
	state("a throttle within the pause", 4, t0.Add(FirstPause))
	clock = t0.Add(FirstPause + time.Second)
	outcome = throttled
	run("right after the pause, the window is still full", 2, contract.ErrNameThrottled)
	state("a throttle right after the pause doubles it, no cut", 4, clock.Add(2*FirstPause))
	clock = clock.Add(2 * FirstPause)
	outcome = nil
	run("after the pause", 3, "")
}

// provision provisions stack in the shared local cloud with a semaphore of maximum
// slots and an initial limit.
func provision(t *testing.T, stack string, maximum, initial int) (*dynamodb.Client, contract.Names) {
	t.Helper()
	cfg, names, _ := localcloud.SharedStack(t, stack, func(s *stacks.Settings) {
		s.MaxConcurrentExecutions, s.ConcurrencyInitial = maximum, initial
	})
	return dynamodb.NewFromConfig(cfg), names
}
