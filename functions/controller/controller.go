package controller

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
)

// Controller is the I/O shell of Decide: a pass reports what the model did, the
// shell reads the controller's state from the semaphore item, decides, and writes a
// new limit conditionally (of passes deciding at once, one wins; the others' view
// is stale and they change nothing).
type Controller struct {
	sem     *semaphore.Semaphore
	s       Settings
	stack   string
	metrics *metrics.Emitter
	log     *slog.Logger
	now     func() time.Time
}

// New returns the controller of one stack's semaphore.
func New(sem *semaphore.Semaphore, s Settings, stack string, m *metrics.Emitter, log *slog.Logger) *Controller {
	return &Controller{sem: sem, s: s, stack: stack, metrics: m, log: log, now: time.Now}
}

// Pass is the EnrichPartition handler's signature.
type Pass func(context.Context, contract.PassInput) (contract.PassOutput, error)

// Observing wraps a pass so that it holds off while the controller pauses the model
// calls, and every model outcome reaches the controller. A paused pass fails fast
// with CircuitOpen right before it would call the model (llm.Hold; a pass served from
// the cache is not held): the state machine retries it with
// jitter and then defers the job without counting an attempt, like a throttle. The
// controller is advisory: its own failure is logged and never fails the pass.
func (c *Controller) Observing(next Pass) Pass {
	return func(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
		out, err := next(llm.Hold(ctx, func() time.Duration { return c.pause(ctx) }), in)
		if sig, ok := SignalOf(out, err); ok {
			if oerr := c.Observe(ctx, sig); oerr != nil {
				c.log.WarnContext(ctx, "concurrency controller", "error", oerr.Error())
			}
		}
		return out, err
	}
}

// pause is how long model calls stay paused after a throttle, read from the item
// right before a call; a failed read pauses nothing (the quota still refuses).
func (c *Controller) pause(ctx context.Context) time.Duration {
	item, err := c.sem.Read(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "concurrency controller", "error", err.Error())
		return 0
	}
	if now := c.now(); stateOf(item).Paused(now) {
		return item.PausedUntil.Sub(now)
	}
	return 0
}

// SignalOf is what a pass's result says about the model: an answer (not from the
// cache) is a success, a throttled call a throttle; anything else says nothing
// about capacity.
func SignalOf(out contract.PassOutput, err error) (Signal, bool) {
	var ce *contract.Error
	switch {
	case err == nil:
		return Success, !out.Cached
	case errors.As(err, &ce) && ce.Name == contract.ErrNameThrottled:
		return Throttled, true
	}
	return 0, false
}

// Observe applies one signal.
func (c *Controller) Observe(ctx context.Context, sig Signal) error {
	var (
		item semaphore.State
		err  error
	)
	if sig == Success {
		item, err = c.sem.CountSuccess(ctx)
	} else {
		item, err = c.sem.Read(ctx)
	}
	if err != nil {
		return err
	}
	st := stateOf(item)
	now := c.now()
	if sig == Throttled {
		// The pause first: it is what keeps the other passes from calling into a full window.
		if pause := PauseAfter(st, now); pause > 0 {
			if _, err := c.sem.SetPause(ctx, now.Add(pause), pause, item); err != nil {
				return err
			}
		}
	}
	// The configured maximum lives in the item (a deploy writes it); the settings'
	// maximum is only the fallback of an item that has none.
	s := c.s
	if item.Max > 0 {
		s.Max, s.Min = item.Max, min(s.Min, item.Max)
	}
	next, changed := Decide(s, st, sig, now)
	if !changed {
		if sig == Throttled && st.Streak > 0 {
			// Within the cooldown the limit stays, but the successes before this throttle
			// no longer prove it: an increase must start a new round.
			return c.sem.ResetStreak(ctx)
		}
		return nil
	}
	// A throttle that writes the initial limit on an item without one counts as a
	// decrease too: the calls started under the maximum must not cut it again.
	won, err := c.sem.SetLimit(ctx, next, sig == Throttled, item, now)
	if err != nil || !won {
		return err
	}
	c.log.InfoContext(ctx, "effective concurrency limit changed", "from", s.Current(st), "to", next, "signal", sig.String())
	return c.metrics.Emit(map[string]string{"Stack": c.stack}, nil,
		metrics.Metric{Name: contract.MetricEffectiveLimit, Value: float64(next), Unit: metrics.Count})
}

// stateOf is the controller's view of the semaphore item.
func stateOf(item semaphore.State) State {
	return State{Limit: item.Effective, ChangedAt: item.LimitChangedAt, DecreasedAt: item.LimitDecreasedAt, Streak: item.SuccessStreak, Held: item.Count,
		PausedUntil: item.PausedUntil, Pause: item.Pause}
}

func (s Signal) String() string {
	if s == Throttled {
		return "throttled"
	}
	return "success"
}
