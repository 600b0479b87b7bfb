package invoke

// Capacity is what admission control knows before starting executions.
type Capacity struct {
	Max     int // semaphore limit
	Buffer  int // executions allowed to wait for a slot
	Held    int // semaphore count: slots held (including orphans not yet cleaned)
	Running int // RUNNING executions: holders plus executions waiting for a slot
}

// Admit is the number of executions that may be started now: the free slots plus the
// buffer, minus the executions already started that do not hold a slot yet (they will
// take the free slots first).
func Admit(c Capacity) int {
	waiting := max(0, c.Running-c.Held)
	return max(0, c.Max-c.Held+c.Buffer-waiting)
}

// verdict is what happens to one message of a batch.
type verdict int

const (
	start  verdict = iota // start its execution
	fail                  // report it failed: it can never succeed
	deferr                // put it back for later
)

// gate applies admission and FIFO group order to one batch, message by message: once
// a message of a group fails or is deferred, every later message of that group in
// the batch is deferred too, so a group is never processed out of order.
type gate struct {
	free int
	held map[string]bool
}

func newGate(admit int) *gate { return &gate{free: admit, held: map[string]bool{}} }

// decide says what to do with the next message of group.
func (g *gate) decide(group string, valid bool) verdict {
	switch {
	case g.held[group]:
		return deferr
	case !valid:
		// A poison message moved to the DLQ does not hold its group; one that could
		// not be moved is reported failed, and done holds the group.
		return fail
	case g.free <= 0:
		g.held[group] = true
		return deferr
	}
	return start
}

// done records a start: a new execution spends one admission, a failed start holds
// the rest of its group, an execution that already existed changes nothing.
func (g *gate) done(group string, started bool, err error) {
	switch {
	case err != nil:
		g.held[group] = true
	case started:
		g.free--
	}
}
