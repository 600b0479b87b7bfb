package bedrockemu

import (
	"net/http"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Kind is a fault the emulator can inject.
type Kind string

// Fault kinds. The first five answer with the service's error; the last two answer
// 200 with a damaged message.
const (
	Throttle      Kind = "throttled"      // 429 ThrottlingException
	Unavailable   Kind = "unavailable"    // 503 ServiceUnavailableException
	InternalError Kind = "internal_error" // 500 InternalServerException
	ModelTimeout  Kind = "model_timeout"  // 408 ModelTimeoutException
	Invalid       Kind = "invalid"        // 400 ValidationException
	Truncate      Kind = "truncated"      // stopReason max_tokens, text cut mid-JSON
	ReasoningOnly Kind = "reasoning_only" // only a reasoningContent block, no text
)

// serviceError is the HTTP status and error type of the kinds that fail the call.
var serviceError = map[Kind]struct {
	status int
	name   string
}{
	Throttle:      {http.StatusTooManyRequests, "ThrottlingException"},
	Unavailable:   {http.StatusServiceUnavailable, "ServiceUnavailableException"},
	InternalError: {http.StatusInternalServerError, "InternalServerException"},
	ModelTimeout:  {http.StatusRequestTimeout, "ModelTimeoutException"},
	Invalid:       {http.StatusBadRequest, "ValidationException"},
}

// Rule injects Kind into the first First calls (0: every call) matching Job and Pass
// (empty: any).
type Rule struct {
	Job   string
	Pass  contract.Pass
	First int
	Kind  Kind
}

func (r Rule) matches(job string, pass contract.Pass) bool {
	return (r.Job == "" || r.Job == job) && (r.Pass == "" || r.Pass == pass)
}

// Faults is the emulator's fault configuration. It is deterministic: rules count
// calls, and the error rate draws from a generator seeded with Seed.
type Faults struct {
	Latency           time.Duration // added to every admitted call
	RequestsPerMinute int           // quota, 0: none
	TokensPerMinute   int           // quota on input+output tokens, 0: none
	ErrorRate         float64       // share of calls answered 503, in [0, 1]
	Seed              uint64
	Rules             []Rule // checked first, in order
}

// window is a sliding one-minute quota: it admits a call when the calls and tokens
// admitted during the minute before it leave room for it.
type window struct {
	events []admitted
	tokens int
}

type admitted struct {
	at     time.Time
	tokens int
}

func (w *window) admit(now time.Time, tokens, rpm, tpm int) bool {
	if rpm <= 0 && tpm <= 0 {
		return true
	}
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(w.events) && !w.events[i].at.After(cut) {
		w.tokens -= w.events[i].tokens
		i++
	}
	w.events = w.events[i:]
	if rpm > 0 && len(w.events) >= rpm {
		return false
	}
	if tpm > 0 && w.tokens+tokens > tpm {
		return false
	}
	w.events = append(w.events, admitted{at: now, tokens: tokens})
	w.tokens += tokens
	return true
}
