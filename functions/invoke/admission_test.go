package invoke

import (
	"errors"
	"strings"
	"testing"
)

func TestAdmit(t *testing.T) {
	tests := []struct {
		name string
		c    Capacity
		want int
	}{
		{"idle", Capacity{Max: 5, Buffer: 2}, 7},
		{"all slots held, nobody waiting", Capacity{Max: 5, Buffer: 2, Held: 5, Running: 5}, 2},
		{"slots held and buffer waiting", Capacity{Max: 5, Buffer: 2, Held: 5, Running: 7}, 0},
		{"more waiting than the buffer", Capacity{Max: 5, Buffer: 2, Held: 5, Running: 12}, 0},
		{"waiting executions take free slots first", Capacity{Max: 5, Buffer: 2, Held: 2, Running: 4}, 3},
		{"orphan slots shrink capacity", Capacity{Max: 5, Buffer: 0, Held: 4, Running: 1}, 1},
		{"count above max after lowering the limit", Capacity{Max: 3, Buffer: 1, Held: 6, Running: 6}, 0},
		{"no buffer", Capacity{Max: 2, Held: 1, Running: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Admit(tt.c); got != tt.want {
				t.Fatalf("Admit(%+v) = %d, want %d", tt.c, got, tt.want)
			}
		})
	}
}

// TestGate drives the gate with a batch: each step is "group:event" where the event is
// bad (poison), err (start fails), dup (execution exists) or ok; the want string lists
// the verdicts in order: S started, E existed, F failed, D deferred.
func TestGate(t *testing.T) {
	tests := []struct {
		name  string
		admit int
		steps string
		want  string
	}{
		{"all admitted", 3, "a:ok b:ok c:ok", "SSS"},
		{"capacity spent defers the rest", 2, "a:ok b:ok c:ok d:ok", "SSDD"},
		{"failure blocks only its group", 5, "a:ok a:err a:ok b:ok a:ok", "SFDSD"},
		{"poison moved to the DLQ does not block its group", 5, "a:bad a:ok b:ok", "FSS"},
		{"poison that stays blocks its group", 5, "a:bad! a:ok b:ok", "FDS"},
		{"deferred group stays deferred when capacity frees", 1, "a:ok a:ok b:ok", "SDD"},
		{"failed start spends no capacity", 1, "a:err b:ok", "FS"},
		{"zero admission", 0, "a:ok b:bad", "DF"},
		{"existing execution spends no capacity", 1, "a:dup b:ok c:ok", "ESD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(tt.admit)
			var got strings.Builder
			for _, step := range strings.Fields(tt.steps) {
				group, event, _ := strings.Cut(step, ":")
				switch g.decide(group, event != "bad" && event != "bad!") {
				case deferr:
					got.WriteByte('D')
				case fail:
					got.WriteByte('F')
					if event == "bad!" {
						g.done(group, false, errors.New("the DLQ is unreachable"))
					}
				default:
					switch event {
					case "err":
						got.WriteByte('F')
						g.done(group, false, errors.New("throttled"))
					case "dup":
						got.WriteByte('E')
						g.done(group, false, nil)
					default:
						got.WriteByte('S')
						g.done(group, true, nil)
					}
				}
			}
			if got.String() != tt.want {
				t.Fatalf("verdicts %s, want %s", got.String(), tt.want)
			}
		})
	}
}
