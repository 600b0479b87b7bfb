package localrun

import (
	"fmt"
	"testing"
	"time"
)

// clock is a manual clock for the delivery queue.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// deliverAll adds n events one second apart and polls every second until a minute
// after the last, returning every delivery in order.
func deliverAll(d Delivery, n int) []string {
	c := &clock{t: time.Unix(0, 0)}
	q := newDeliveries(d, c.now)
	var got []string
	for i := range n + 60 {
		if i < n {
			q.add(fmt.Sprint(i))
		}
		got = append(got, q.due()...)
		c.t = c.t.Add(time.Second)
	}
	return got
}

func TestDeliveries(t *testing.T) {
	const n = 400
	tests := []struct {
		name                  string
		d                     Delivery
		wantDup, wantLost     bool
		wantLate, wantReorder bool
	}{
		{"exactly once by default", Delivery{}, false, false, false, false},
		{"duplicates", Delivery{Duplicate: 0.3, Seed: 1}, true, false, false, false},
		{"losses", Delivery{Lose: 0.2, Seed: 2}, false, true, false, false},
		{"late and out of order", Delivery{MaxDelay: 10 * time.Second, Seed: 3}, false, false, true, true},
		{"everything", Delivery{Duplicate: 0.2, Lose: 0.1, MaxDelay: 5 * time.Second, Seed: 4}, true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deliverAll(tt.d, n)
			count := map[string]int{}
			dup, reorder, late := false, false, false
			for i, arn := range got {
				count[arn]++
				dup = dup || count[arn] > 1
				var v, prev int
				fmt.Sscan(arn, &v)
				if i > 0 {
					fmt.Sscan(got[i-1], &prev)
					reorder = reorder || v < prev
				}
			}
			// Without delay, event i is due on the poll right after it was added.
			c := &clock{t: time.Unix(0, 0)}
			q := newDeliveries(tt.d, c.now)
			for i := range n {
				q.add(fmt.Sprint(i))
				for _, arn := range q.due() {
					late = late || arn != fmt.Sprint(i)
				}
				c.t = c.t.Add(time.Second)
			}
			lost := len(count) < n
			if dup != tt.wantDup || lost != tt.wantLost || reorder != tt.wantReorder || late != tt.wantLate {
				t.Errorf("duplicated %v lost %v (%d of %d) reordered %v late %v; want %v %v %v %v",
					dup, lost, n-len(count), n, reorder, late, tt.wantDup, tt.wantLost, tt.wantReorder, tt.wantLate)
			}
			if again := deliverAll(tt.d, n); fmt.Sprint(again) != fmt.Sprint(got) {
				t.Error("same seed, different deliveries")
			}
		})
	}
}

func TestDeliveriesRetryFailed(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	q := newDeliveries(Delivery{}, c.now)
	q.add("a")
	if got := q.due(); len(got) != 1 {
		t.Fatalf("due %v", got)
	}
	q.retry("a")
	if got := q.due(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("retried delivery: due %v, want [a]", got)
	}
}
