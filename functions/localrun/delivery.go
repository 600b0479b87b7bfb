package localrun

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Delivery is how status-change events reach CleanupLocks. The zero value delivers
// each one exactly once, at once. AWS promises less: EventBridge delivers at least
// once and in no particular order, and Step Functions emits status-change events on
// a best-effort basis (docs/local-cloud.md cites both), so tests set these to see the
// pipeline end every job anyway.
type Delivery struct {
	Duplicate float64       // chance an event is delivered a second time
	Lose      float64       // chance an event is never delivered
	MaxDelay  time.Duration // each delivery is late by a random delay up to this, so events overtake each other
	Seed      uint64        // seeds the chances and delays: same seed, same deliveries
}

// deliveries holds events until they are due, deciding loss, duplicates and delays
// when an event is added. It is the pure core of StatusEvents.
type deliveries struct {
	d       Delivery
	rng     *rand.Rand
	now     func() time.Time
	pending []delivery
	stats   DeliveryStats
}

// DeliveryStats count what Delivery did to the events so far.
type DeliveryStats struct {
	Ended, Lost, Duplicated, Late int // Late: deliveries held back by a delay
}

type delivery struct {
	arn string
	due time.Time
}

func newDeliveries(d Delivery, now func() time.Time) *deliveries {
	return &deliveries{d: d, rng: rand.New(rand.NewPCG(d.Seed, d.Seed^0x5851f42d4c957f2d)), now: now}
}

// add schedules the event of one ended execution: none, one or two deliveries.
func (q *deliveries) add(arn string) {
	q.stats.Ended++
	if q.d.Lose > 0 && q.rng.Float64() < q.d.Lose {
		q.stats.Lost++
		return
	}
	copies := 1
	if q.d.Duplicate > 0 && q.rng.Float64() < q.d.Duplicate {
		copies = 2
		q.stats.Duplicated++
	}
	for range copies {
		d := q.delay()
		if d > 0 {
			q.stats.Late++
		}
		q.pending = append(q.pending, delivery{arn: arn, due: q.now().Add(d)})
	}
}

// retry delivers arn again on the next call of due.
func (q *deliveries) retry(arn string) {
	q.pending = append(q.pending, delivery{arn: arn, due: q.now()})
}

func (q *deliveries) delay() time.Duration {
	if q.d.MaxDelay <= 0 {
		return 0
	}
	return time.Duration(q.rng.Int64N(int64(q.d.MaxDelay) + 1))
}

// due removes and returns the events due now, earliest first.
func (q *deliveries) due() []string {
	now := q.now()
	slices.SortStableFunc(q.pending, func(a, b delivery) int { return a.due.Compare(b.due) })
	i := 0
	for i < len(q.pending) && !q.pending[i].due.After(now) {
		i++
	}
	out := make([]string, i)
	for j, d := range q.pending[:i] {
		out[j] = d.arn
	}
	q.pending = slices.Delete(q.pending, 0, i)
	return out
}
