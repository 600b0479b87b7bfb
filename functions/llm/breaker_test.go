package llm

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// fakeClock is advanced by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var (
	errThrottled = &types.ThrottlingException{}
	errInvalid   = &types.ValidationException{}
)

// step is one action on a breaker: a call that ends with err, or a clock advance.
type step struct {
	advance  time.Duration
	call     bool
	err      error
	wantOpen bool  // Allow must fail fast with ErrCircuitOpen
	want     State // state after the step
}

func call(err error, want State) step { return step{call: true, err: err, want: want} }
func refused(want State) step         { return step{call: true, wantOpen: true, want: want} }
func wait(d time.Duration, want State) step {
	return step{advance: d, want: want}
}

func TestBreakerTransitions(t *testing.T) {
	const cooldown = time.Minute
	tests := []struct {
		name  string
		steps []step
	}{
		{"opens after N consecutive failures", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open), refused(Open),
		}},
		{"a success resets the count", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(nil, Closed),
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open),
		}},
		{"invalid requests do not count", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errInvalid, Closed),
			call(errInvalid, Closed), call(errInvalid, Closed), call(errThrottled, Open),
		}},
		{"open until the cooldown has passed", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open),
			wait(cooldown-time.Second, Open), refused(Open),
		}},
		{"probe success closes", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open),
			wait(cooldown, Open), call(nil, Closed), call(errThrottled, Closed),
		}},
		{"probe failure re-opens for a full cooldown", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open),
			wait(cooldown, Open), call(errThrottled, Open), wait(cooldown-time.Second, Open), refused(Open),
			wait(time.Second, Open), call(nil, Closed),
		}},
		{"an inconclusive probe leaves it half-open for the next caller", []step{
			call(errThrottled, Closed), call(errThrottled, Closed), call(errThrottled, Open),
			wait(cooldown, Open), call(errInvalid, HalfOpen), call(nil, Closed),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			b := NewBreaker(BreakerSettings{Failures: 3, Cooldown: cooldown, Now: clock.now})
			for i, s := range tt.steps {
				clock.advance(s.advance)
				if s.call {
					done, err := b.Allow()
					if s.wantOpen != errors.Is(err, ErrCircuitOpen) {
						t.Fatalf("step %d: Allow() error = %v, want open %t", i, err, s.wantOpen)
					}
					if err == nil {
						done(s.err)
					}
				}
				if got := b.State(); got != s.want {
					t.Fatalf("step %d: state %s, want %s", i, got, s.want)
				}
			}
		})
	}
}

func TestBreakerHalfOpenAdmitsOneProbe(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := NewBreaker(BreakerSettings{Failures: 1, Cooldown: time.Minute, Now: clock.now})
	done, _ := b.Allow()
	done(errThrottled)
	clock.advance(time.Minute)

	probe, err := b.Allow()
	if err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("second caller while probing: error = %v, want ErrCircuitOpen", err)
	}
	if got := b.State(); got != HalfOpen {
		t.Fatalf("state while probing = %s, want half-open", got)
	}
	probe(nil)
	if got := b.State(); got != Closed {
		t.Fatalf("state after probe success = %s, want closed", got)
	}
}

// A result of a call admitted while closed that arrives after the breaker opened
// must not close it: only the probe decides.
func TestBreakerIgnoresStaleResults(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := NewBreaker(BreakerSettings{Failures: 1, Cooldown: time.Minute, Now: clock.now})
	slow, _ := b.Allow()
	fast, _ := b.Allow()
	fast(errThrottled)
	slow(nil)
	if got := b.State(); got != Open {
		t.Fatalf("state = %s, want open", got)
	}
}

// Run with -race: many callers hit a breaker whose cooldown has passed; exactly one
// becomes the probe.
func TestBreakerConcurrentProbe(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Unix(1_700_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	b := NewBreaker(BreakerSettings{Failures: 1, Cooldown: time.Minute, Now: clock})
	done, _ := b.Allow()
	done(errThrottled)
	now.Add(int64(time.Minute))

	const callers = 64
	var admitted, refusedCount atomic.Int32
	probes := make(chan func(error), callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-start
			d, err := b.Allow()
			if err != nil {
				refusedCount.Add(1)
				return
			}
			admitted.Add(1)
			probes <- d
		})
	}
	close(start)
	wg.Wait()
	if admitted.Load() != 1 || refusedCount.Load() != callers-1 {
		t.Fatalf("admitted %d, refused %d; want 1 and %d", admitted.Load(), refusedCount.Load(), callers-1)
	}
	(<-probes)(nil)
	if got := b.State(); got != Closed {
		t.Fatalf("state = %s, want closed", got)
	}
}
