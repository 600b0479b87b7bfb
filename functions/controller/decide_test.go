package controller

import (
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/stacks"
)

var base = Settings{Min: 1, Max: 10, Initial: 3, Step: 1, Decrease: 0.5, Cooldown: 30 * time.Second, SuccessesPerSlot: 3}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	long := now.Add(-time.Minute)       // beyond the cooldown
	recent := now.Add(-5 * time.Second) // within it
	for _, tc := range []struct {
		name    string
		st      State
		sig     Signal
		want    int
		changed bool
	}{
		{"throttle halves", State{Limit: 8, ChangedAt: long, Held: 8}, Throttled, 4, true},
		{"unset: a throttle writes the initial limit, not a cut from the maximum", State{Held: 10}, Throttled, 3, true},
		{"unset: a success writes the initial limit", State{Streak: 1, Held: 10}, Success, 3, true},
		{"throttle within the cooldown of a decrease changes nothing", State{Limit: 8, ChangedAt: recent, DecreasedAt: recent}, Throttled, 8, false},
		{"throttle within the cooldown of an increase decreases: it overshot", State{Limit: 8, ChangedAt: recent, DecreasedAt: long}, Throttled, 4, true},
		{"throttle within the cooldown of the first increase decreases", State{Limit: 8, ChangedAt: recent}, Throttled, 4, true},
		{"throttle never below the minimum", State{Limit: 1, ChangedAt: long}, Throttled, 1, false},
		{"a factor that rounds back still decreases", State{Limit: 2, ChangedAt: long}, Throttled, 1, true},
		{"sustained success at the limit adds a step", State{Limit: 4, ChangedAt: long, Streak: 12, Held: 4}, Success, 5, true},
		{"not yet a full round", State{Limit: 4, ChangedAt: long, Streak: 11, Held: 4}, Success, 4, false},
		{"slots idle: the limit is not what binds", State{Limit: 4, ChangedAt: long, Streak: 40, Held: 3}, Success, 4, false},
		{"no increase within the cooldown", State{Limit: 4, ChangedAt: recent, Streak: 40, Held: 4}, Success, 4, false},
		{"never above the maximum", State{Limit: 10, ChangedAt: long, Streak: 90, Held: 10}, Success, 10, false},
		{"a lowered maximum caps the stored limit", State{Limit: 20, ChangedAt: long, Streak: 90, Held: 10}, Success, 10, false},
		{"a lowered maximum: throttling halves from it", State{Limit: 20, ChangedAt: long}, Throttled, 5, true},
		{"throttle within a pause: the call started before it", State{Limit: 8, ChangedAt: long, DecreasedAt: long, PausedUntil: now.Add(time.Second), Pause: 10 * time.Second}, Throttled, 8, false},
		{"throttle right after a pause: the quota's window is still full, the limit is not why", State{Limit: 8, ChangedAt: long, DecreasedAt: long, PausedUntil: now.Add(-3 * time.Second), Pause: 10 * time.Second}, Throttled, 8, false},
		{"throttle long after a pause cuts", State{Limit: 8, ChangedAt: long, DecreasedAt: long, PausedUntil: long, Pause: 10 * time.Second}, Throttled, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Decide(base, tc.st, tc.sig, now)
			if got != tc.want || changed != tc.changed {
				t.Fatalf("Decide(%+v, %v) = %d, %v; want %d, %v", tc.st, tc.sig, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestPauseAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   State
		want time.Duration
	}{
		{"never paused: the first pause", State{}, FirstPause},
		{"within a pause: none (the call started before it)", State{PausedUntil: now.Add(time.Second), Pause: 20 * time.Second}, 0},
		{"right after a pause: the throttles go on, twice as long", State{PausedUntil: now.Add(-5 * time.Second), Pause: 10 * time.Second}, 20 * time.Second},
		{"the doubling stops at one quota window", State{PausedUntil: now.Add(-time.Second), Pause: 40 * time.Second}, MaxPause},
		{"a new episode, long after the last pause: the first pause", State{PausedUntil: now.Add(-time.Minute), Pause: 40 * time.Second}, FirstPause},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PauseAfter(tc.st, now); got != tc.want {
				t.Fatalf("PauseAfter(%+v) = %v, want %v", tc.st, got, tc.want)
			}
		})
	}
}

// TestDecideConverges drives the core with a model whose capacity is c slots: a
// call above it throttles. The limit must settle in a band below and at c (AIMD's
// sawtooth), never run away, and follow a drop of c to half.
func TestDecideConverges(t *testing.T) {
	s := Settings{Min: 1, Max: 40, Initial: 2, Step: 1, Decrease: 0.7, Cooldown: 10 * time.Second, SuccessesPerSlot: 3}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	st := State{}
	run := func(capacity int, rounds int) (lo, hi int) {
		lo, hi = s.Max, 0
		for range rounds {
			now = now.Add(5 * time.Second)
			cur := s.Current(st)
			st.Held = cur
			sig := Success
			if cur > capacity {
				sig = Throttled
			}
			st.Streak += cur // a round: every slot's call, all with the same outcome
			if sig == Throttled {
				st.Streak = 0
			}
			if next, changed := Decide(s, st, sig, now); changed {
				st = State{Limit: next, ChangedAt: now, DecreasedAt: st.DecreasedAt, Held: st.Held}
				if sig == Throttled {
					st.DecreasedAt = now
				}
			}
			lo, hi = min(lo, s.Current(st)), max(hi, s.Current(st))
		}
		return lo, hi
	}
	// Settling from the initial limit never puts more than one step above the
	// capacity (started at the maximum, the first round would be 40 on 20).
	if _, hi := run(20, 200); hi > 21 {
		t.Fatalf("from the initial limit: reached %d on a capacity of 20", hi)
	}
	if lo, hi := run(20, 200); lo < 12 || hi > 21 {
		t.Fatalf("capacity 20: limit moved in [%d, %d], want within [12, 21]", lo, hi)
	}
	run(10, 50)
	if lo, hi := run(10, 200); lo < 6 || hi > 11 {
		t.Fatalf("capacity 10: limit moved in [%d, %d], want within [6, 11]", lo, hi)
	}
}

func TestFromStackIsValid(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		s, err := stacks.Defaults(name)
		if err != nil {
			t.Fatal(err)
		}
		c := FromStack(s)
		if c.Min < 1 || c.Max != s.MaxConcurrentExecutions || c.Decrease <= 0 || c.Decrease >= 1 || c.Step < 1 || c.SuccessesPerSlot < 1 {
			t.Errorf("%s: %+v", name, c)
		}
	}
}

func TestEnvRoundTrip(t *testing.T) {
	s, err := stacks.Defaults("prod")
	if err != nil {
		t.Fatal(err)
	}
	v := EnvValue(s)
	got, ok, err := FromEnv(v)
	if err != nil || !ok || got != FromStack(s) {
		t.Fatalf("FromEnv(%s) = %+v, %v, %v; want %+v", v, got, ok, err, FromStack(s))
	}
	s.AdaptiveConcurrency = false
	if v := EnvValue(s); v != "" {
		t.Fatalf("a stack that does not adapt: %q", v)
	}
	if _, ok, err := FromEnv(""); ok || err != nil {
		t.Fatal("empty: want no controller and no error")
	}
	if _, _, err := FromEnv(`{"min":0,"max":5}`); err == nil {
		t.Fatal("want an error for settings out of range")
	}
}

func TestInitialClamped(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    Settings
		want int
	}{
		{"no initial (an older environment value): the minimum", Settings{Min: 2, Max: 10}, 2},
		{"below the minimum", Settings{Min: 2, Max: 10, Initial: 1}, 2},
		{"above a lowered maximum", Settings{Min: 1, Max: 4, Initial: 6}, 4},
	} {
		if got, changed := Decide(tc.s, State{}, Success, now); got != tc.want || !changed {
			t.Errorf("%s: Decide = %d, %v; want %d, true", tc.name, got, changed, tc.want)
		}
	}
}
