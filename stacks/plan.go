package stacks

import "math"

// The limits that can bind a stack's throughput.
const (
	LimitConcurrency = "concurrency"         // maxConcurrentExecutions × pass latency
	LimitRequests    = "requests per minute" // bedrockRequestsPerMinute
	LimitTokens      = "tokens per minute"   // bedrockTokensPerMinute
)

// Price is what a model charges in US dollars per million tokens.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// Usage describes an average job: tokens per pass (in pass order) and the price of
// each model by id. The price table lives in functions/llm, which stacks cannot
// import, so callers pass it in.
type Usage struct {
	InputTokens  [CallsPerJob]int
	OutputTokens [CallsPerJob]int
	Prices       map[string]Price
}

// Capacity is the outcome of planning a backlog on one stack.
type Capacity struct {
	Jobs          int
	JobsPerMinute float64
	Hours         float64
	Binding       string // the limit that sets JobsPerMinute

	// Jobs per minute each limit allows on its own; ByTokens is +Inf when the stack
	// does not know its tokens-per-minute quota.
	ByConcurrency float64
	ByRequests    float64
	ByTokens      float64
	// ByDiscovery is what discovery publishes per minute (DiscoveryJobsPerMinute): a
	// backlog already in Silver drains no faster through it; backfill bypasses it.
	ByDiscovery float64

	CostPer1000Jobs float64
	Priced          bool // false when a configured model has no price: the cost is partial

	// ReservedConcurrency is what the stack reserves for EnrichPartition and
	// AccountConcurrency the Lambda concurrency limit its account needs for it alone
	// (RequiredAccountConcurrency for several stacks in one account).
	ReservedConcurrency int
	AccountConcurrency  int
}

// Plan estimates how fast a stack enriches jobs and what 1,000 jobs cost. It assumes
// every call takes ExpectedPassLatency and that slots are refilled at once.
func Plan(s Settings, jobs int, u Usage) Capacity {
	c := Capacity{
		Jobs:          jobs,
		ByConcurrency: s.RequestsPerMinute() / CallsPerJob,
		ByRequests:    float64(s.BedrockRPM) / CallsPerJob,
		ByTokens:      math.Inf(1),
		ByDiscovery:   s.DiscoveryJobsPerMinute(),
		Priced:        true,

		ReservedConcurrency: s.ReservedConcurrency(),
		AccountConcurrency:  RequiredAccountConcurrency([]Settings{s}),
	}
	tokensPerJob := 0
	for i, model := range s.Models() {
		in, out := u.InputTokens[i], u.OutputTokens[i]
		tokensPerJob += in + out
		p, ok := u.Prices[model]
		if !ok {
			c.Priced = false
			continue
		}
		c.CostPer1000Jobs += 1000 * (float64(in)*p.InputPerMTok + float64(out)*p.OutputPerMTok) / 1e6
	}
	if s.BedrockTPM > 0 && tokensPerJob > 0 {
		c.ByTokens = float64(s.BedrockTPM) / float64(tokensPerJob)
	}

	c.JobsPerMinute, c.Binding = c.ByConcurrency, LimitConcurrency
	if c.ByRequests < c.JobsPerMinute {
		c.JobsPerMinute, c.Binding = c.ByRequests, LimitRequests
	}
	if c.ByTokens < c.JobsPerMinute {
		c.JobsPerMinute, c.Binding = c.ByTokens, LimitTokens
	}
	if c.JobsPerMinute > 0 {
		c.Hours = float64(jobs) / c.JobsPerMinute / 60
	}
	return c
}

// UnreservedConcurrencyFloor is what Lambda keeps unreserved in each account and
// Region: PutFunctionConcurrency refuses a reservation that would leave fewer than 100
// concurrent executions to the functions without one (AWS Lambda API Reference,
// PutFunctionConcurrency; "Configuring reserved concurrency" in the Developer Guide).
// A first `pulumi up` into an account below the requirement fails on that call.
const UnreservedConcurrencyFloor = 100

// ReservedConcurrency is the concurrency a stack reserves for EnrichPartition: the
// semaphore limit plus the executions admission may start beyond it, so even a
// drifted count cannot run more passes at once. The other functions reserve none.
func (s Settings) ReservedConcurrency() int {
	return s.MaxConcurrentExecutions + s.AdmissionBuffer
}

// RequiredAccountConcurrency is the smallest Lambda "Concurrent executions" quota
// under which all the given stacks deploy into one account and Region: their
// reservations plus the unreserved floor (dev, staging and prod together: 7 + 22 +
// 52 + 100 = 181). Reservations of other functions in that account come on top;
// AccountConcurrency.Shortfall accounts for them.
func RequiredAccountConcurrency(stacks []Settings) int {
	return reserved(stacks) + UnreservedConcurrencyFloor
}

func reserved(stacks []Settings) int {
	n := 0
	for _, s := range stacks {
		n += s.ReservedConcurrency()
	}
	return n
}

// AccountConcurrency is what an account reports before a deploy: Lambda
// GetAccountSettings' AccountLimit.UnreservedConcurrentExecutions, and what the
// stacks' own EnrichPartition functions reserve today (GetFunctionConcurrency; 0
// before their first deploy), which a redeploy gives back before it reserves anew.
type AccountConcurrency struct {
	Unreserved    int
	ReservedToday int
}

// Shortfall is how many concurrent executions the account lacks for the given
// stacks to deploy into it (0: they fit): the increase to request in Service Quotas.
func (a AccountConcurrency) Shortfall(stacks []Settings) int {
	left := a.Unreserved + a.ReservedToday - reserved(stacks)
	return max(0, UnreservedConcurrencyFloor-left)
}
