package llm

import (
	"context"
	"sync"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
)

// Attempts counts the HTTP attempts of one Converse call: the SDK's retryer may send
// a call several times, and every throttled attempt counts against the quota (the
// contract's ModelThrottles is per attempt, ModelCalls its denominator).
type Attempts struct {
	Total     int
	Throttled int
}

// Add sums attempt counts.
func (a Attempts) Add(b Attempts) Attempts {
	return Attempts{Total: a.Total + b.Total, Throttled: a.Throttled + b.Throttled}
}

// attemptCounter is a per-call middleware placed after the retry middleware, so it
// sees each attempt and its error.
type attemptCounter struct {
	mu sync.Mutex
	a  Attempts
}

func (c *attemptCounter) option(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("CountAttempts", c.handle), "Retry", middleware.After)
	})
}

func (c *attemptCounter) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleFinalize(ctx, in)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.a.Total++
	if err != nil && Kind(err) == contract.ErrNameThrottled {
		c.a.Throttled++
	}
	return out, md, err
}

func (c *attemptCounter) result() Attempts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.a
}
