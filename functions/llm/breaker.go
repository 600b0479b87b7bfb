package llm

import (
	"sync"
	"time"
)

// State is a circuit breaker state. The numeric values are stable so they can be
// published as a metric (0 closed, 1 half-open, 2 open).
type State int

// Breaker states.
const (
	Closed State = iota
	HalfOpen
	Open
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "unknown"
}

// BreakerSettings configures a Breaker.
type BreakerSettings struct {
	Failures int           // consecutive throttled/transient failures that open it (min 1)
	Cooldown time.Duration // how long it stays open before admitting one probe
	Now      func() time.Time
}

// Breaker stops calls to a model that keeps failing (original §12 W17 fixed): only
// throttled or transient failures count, a success resets the count, an open breaker
// fails fast with ErrCircuitOpen until the cooldown has passed, then exactly one probe
// is admitted while everyone else still fails fast; the probe's outcome closes or
// re-opens it. It is per process (one Lambda container), which is enough to stop one
// container from hammering a throttled model; fleet-wide pacing is the semaphore's job.
type Breaker struct {
	failuresToOpen int
	cooldown       time.Duration
	now            func() time.Time

	mu       sync.Mutex
	state    State
	failures int
	openedAt time.Time
	probing  bool
}

// NewBreaker returns a closed breaker.
func NewBreaker(s BreakerSettings) *Breaker {
	b := &Breaker{failuresToOpen: max(s.Failures, 1), cooldown: s.Cooldown, now: s.Now}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// State is the current state, for metrics and logs.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Allow admits a call or fails fast with ErrCircuitOpen. An admitted caller must call
// done exactly once with the call's error (nil on success).
func (b *Breaker) Allow() (done func(error), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return nil, ErrCircuitOpen
		}
		b.state = HalfOpen
		b.probing = true
		return b.probeDone, nil
	case HalfOpen:
		if b.probing {
			return nil, ErrCircuitOpen
		}
		b.probing = true
		return b.probeDone, nil
	}
	return b.closedDone, nil
}

// closedDone records the outcome of a call admitted while closed. Outcomes that
// arrive after the breaker opened are ignored: only the probe decides then.
func (b *Breaker) closedDone(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != Closed {
		return
	}
	switch {
	case err == nil:
		b.failures = 0
	case countsAgainstHealth(err):
		b.failures++
		if b.failures >= b.failuresToOpen {
			b.open()
		}
	}
}

// probeDone records the probe's outcome. A probe that failed for a reason that says
// nothing about the model's health (an invalid request) leaves the breaker half-open
// so the next caller probes.
func (b *Breaker) probeDone(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch {
	case err == nil:
		b.state = Closed
		b.failures = 0
	case countsAgainstHealth(err):
		b.open()
	}
}

func (b *Breaker) open() {
	b.state = Open
	b.openedAt = b.now()
}
