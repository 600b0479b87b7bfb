// Package controller moves the semaphore's effective concurrency limit between a
// minimum and the configured maximum from what the passes observe (AIMD, as TCP
// congestion control): a throttled model call cuts the limit by a factor, sustained
// success at the limit adds a step; after a throttle no pass calls the model for a
// while (PauseAfter), since a full per-minute quota refuses every call whatever the
// limit. Decide and PauseAfter are the pure core; Controller is their thin
// I/O shell over the semaphore item, run by every pass (docs/architecture.md,
// "Adaptive concurrency").
package controller

import (
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

// Settings tune the controller (stacks.Settings holds them per stack).
type Settings struct {
	Min, Max int
	// Initial is where an unset limit starts (within [Min, Max]; 0 means Min): the
	// capacity is unknown, so the controller starts low and earns its way up instead
	// of starting at the maximum and cutting down under a burst of throttles.
	Initial int
	// Step is the additive increase.
	Step int
	// Decrease is the multiplicative factor applied on throttling, in (0, 1).
	Decrease float64
	// Cooldown is the least time after a decrease before the next one (calls that
	// throttle right after a decrease started under the old limit and must not cut
	// it again) and after any change before an increase. A throttle right after an
	// increase does decrease: the increase overshot.
	Cooldown time.Duration
	// SuccessesPerSlot successful calls per slot of the limit, with every slot in
	// use, earn one step: one full round of the slots at the current limit.
	SuccessesPerSlot int
}

// FromStack takes the controller's settings from a stack's (stacks.Settings.Validate
// checks them).
func FromStack(s stacks.Settings) Settings {
	return Settings{
		Min: s.ConcurrencyMin, Max: s.MaxConcurrentExecutions, Initial: s.ConcurrencyInitial, Step: s.ConcurrencyStep, Decrease: s.ConcurrencyDecrease,
		Cooldown: s.ConcurrencyCooldown, SuccessesPerSlot: s.ConcurrencySuccessesPerSlot,
	}
}

// Signal is what one pass observed of the model.
type Signal int

const (
	// Success: the model answered.
	Success Signal = iota
	// Throttled: the model refused the call for capacity.
	Throttled
)

// State is what the controller knows when a signal arrives.
type State struct {
	Limit       int       // the effective limit; 0 when never set (acquire enforces the maximum)
	ChangedAt   time.Time // of the last change; zero when never changed
	DecreasedAt time.Time // of the last decrease; zero when never decreased
	Streak      int       // successful calls since the last change, this one included
	Held        int       // slots in use
	// PausedUntil ends the last hold-off after a throttle, which lasted Pause (zero
	// when none was ever armed).
	PausedUntil time.Time
	Pause       time.Duration
}

// The hold-off after a throttle. Bedrock's quotas are per minute ("Quotas for Amazon
// Bedrock", requests and tokens processed per minute): once the quota's window is
// full, every call is refused, whatever the limit, until enough of the minute's calls
// age out (after a drop of the quota to half, about half a minute). Calls sent in
// that time only throttle, so after a throttle no pass calls the model for a while:
// FirstPause first, doubled up to MaxPause (one quota window) while the throttles go
// on right after each pause ends. Neither is scaled with the other waits in the local
// cloud, since the emulator's window is not either.
const (
	FirstPause = 10 * time.Second
	MaxPause   = time.Minute
)

// Paused reports whether passes must hold off their model calls at now.
func (st State) Paused(now time.Time) bool { return now.Before(st.PausedUntil) }

// persists reports whether a throttle at now comes within one pause length after the
// last pause ended: the quota was still full when the calls resumed.
func (st State) persists(now time.Time) bool {
	return !st.PausedUntil.IsZero() && !now.Before(st.PausedUntil) && now.Before(st.PausedUntil.Add(st.Pause))
}

// PauseAfter is the hold-off a throttle at now arms, 0 for none: none within a pause
// (the call started before it), twice the last one (at most MaxPause) when the
// throttles persist after it, FirstPause otherwise.
func PauseAfter(st State, now time.Time) time.Duration {
	switch {
	case st.Paused(now):
		return 0
	case st.persists(now):
		return min(MaxPause, max(FirstPause, 2*st.Pause))
	}
	return FirstPause
}

// Current is the limit the controller works from: the effective one (Initial when
// unset) within [Min, Max].
func (s Settings) Current(st State) int {
	l := st.Limit
	if l == 0 {
		l = s.Initial
	}
	return min(s.Max, max(s.Min, l))
}

// Decide returns the new effective limit after sig, and whether it changes.
func Decide(s Settings, st State, sig Signal, now time.Time) (int, bool) {
	cur := s.Current(st)
	if st.Limit == 0 {
		// Never set: acquire still enforces the maximum. The first signal, whatever it
		// is, writes the initial limit (and starts the cooldown, so the throttles of the
		// calls started under the maximum do not cut it again).
		return cur, true
	}
	settled := func(at time.Time) bool { return at.IsZero() || now.Sub(at) >= s.Cooldown }
	next := cur
	switch sig {
	case Throttled:
		if !settled(st.DecreasedAt) || st.Paused(now) || st.persists(now) {
			// One decrease per congestion episode: a throttle within or right after a
			// pause says the quota's window is still full, not that the limit is high.
			return cur, false
		}
		next = max(s.Min, int(float64(cur)*s.Decrease))
		if next == cur && cur > s.Min {
			next = cur - 1
		}
	case Success:
		// Grow only when the limit is what holds the work back (every slot in use)
		// and one full round of calls at this limit went through without a throttle.
		if !settled(st.ChangedAt) || st.Held < cur || st.Streak < s.SuccessesPerSlot*cur {
			return cur, false
		}
		next = min(s.Max, cur+s.Step)
	}
	return next, next != cur
}
