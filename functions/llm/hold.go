package llm

import (
	"context"
	"fmt"
	"time"
)

type holdKey struct{}

// Hold returns a context in which Converse first asks pause how long model calls are
// paused, and while they are fails fast with ErrCircuitOpen instead of calling: the
// concurrency controller's stack-wide pause after a throttle. It is asked right before
// the call, so a pass served from the cache is not held (and costs no read), and a
// pause armed while the pass prepared its request still applies.
func Hold(ctx context.Context, pause func() time.Duration) context.Context {
	return context.WithValue(ctx, holdKey{}, pause)
}

// Held is the error of a call made now during a pause, nil otherwise.
func Held(ctx context.Context) error {
	pause, ok := ctx.Value(holdKey{}).(func() time.Duration)
	if !ok {
		return nil
	}
	if d := pause(); d > 0 {
		return fmt.Errorf("%w: model calls paused for %v after a throttle (the quota's window is full)", ErrCircuitOpen, d.Round(time.Millisecond))
	}
	return nil
}
