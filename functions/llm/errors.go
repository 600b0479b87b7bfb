package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aws/smithy-go"
)

// ErrCircuitOpen is returned without calling the model while its breaker is open.
var ErrCircuitOpen = errors.New("circuit breaker open")

// ErrInvalidCall marks a Call that is rejected before it is sent (bad role, bad schema).
var ErrInvalidCall = errors.New("invalid model call")

// ErrNoText matches (errors.Is) every NoTextError.
var ErrNoText = errors.New("model returned no answer text")

// NoTextError is an answer without a text block, typically reasoning only. Converse
// returns it together with the Answer so the caller still records tokens and cost.
type NoTextError struct {
	StopReason string
	Reasoning  bool // the model produced reasoning content
}

func (e *NoTextError) Error() string {
	return fmt.Sprintf("%s (stopReason %s, reasoning %t)", ErrNoText, e.StopReason, e.Reasoning)
}

// Is makes errors.Is(err, ErrNoText) true.
func (e *NoTextError) Is(target error) bool { return target == ErrNoText }

// Error codes of the Bedrock runtime API by kind. ServiceQuotaExceededException is a
// quota (tokens or requests) being hit, i.e. throttling from the caller's point of view.
var (
	throttledCodes = map[string]bool{
		"ThrottlingException":           true,
		"ServiceQuotaExceededException": true,
		"TooManyRequestsException":      true,
	}
	transientCodes = map[string]bool{
		"InternalServerException":     true,
		"ServiceUnavailableException": true,
		"ModelTimeoutException":       true,
		"ModelNotReadyException":      true,
		"ModelStreamErrorException":   true,
	}
	invalidRequestCodes = map[string]bool{
		"ValidationException":       true,
		"AccessDeniedException":     true,
		"ResourceNotFoundException": true,
		"ConflictException":         true,
	}
)

// Kind names the failure for the state machine: one of the contract.ErrName* values,
// or "" for a nil error.
//
//   - throttled: ThrottlingException, ServiceQuotaExceededException, any HTTP 429
//   - transient: InternalServer, ServiceUnavailable, ModelTimeout, ModelNotReady, HTTP
//     5xx, network errors and timeouts (nothing answered)
//   - invalid request: Validation, AccessDenied, ResourceNotFound, other 4xx and calls
//     rejected before sending: retrying the same request cannot help
//   - model error: ModelErrorException (HTTP 424: the model failed on this input)
//   - no JSON / truncated: an answer without text (truncated when stopReason is max_tokens)
//   - circuit open: the breaker refused the call
func Kind(err error) string {
	if err == nil {
		return ""
	}
	var noText *NoTextError
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, ErrCircuitOpen):
		return contract.ErrNameCircuitOpen
	case errors.As(err, &noText):
		if noText.StopReason == "max_tokens" {
			return contract.ErrNameTruncated
		}
		return contract.ErrNameNoJSON
	case errors.Is(err, ErrInvalidCall):
		return contract.ErrNameInvalidRequest
	case errors.As(err, &apiErr):
		return apiKind(err, apiErr)
	}
	// Network failures, timeouts and cancelled contexts: the request may succeed later.
	return contract.ErrNameTransient
}

func apiKind(err error, apiErr smithy.APIError) string {
	code := apiErr.ErrorCode()
	switch {
	case throttledCodes[code]:
		return contract.ErrNameThrottled
	case transientCodes[code]:
		return contract.ErrNameTransient
	case code == "ModelErrorException":
		return contract.ErrNameModel
	case invalidRequestCodes[code]:
		return contract.ErrNameInvalidRequest
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch s := status.HTTPStatusCode(); {
		case s == http.StatusTooManyRequests:
			return contract.ErrNameThrottled
		case s >= 500:
			return contract.ErrNameTransient
		}
	}
	if apiErr.ErrorFault() == smithy.FaultServer {
		return contract.ErrNameTransient
	}
	return contract.ErrNameInvalidRequest
}

// countsAgainstHealth reports whether a failure says the model endpoint is unhealthy
// (throttled or unavailable). A request the caller cancelled says nothing.
func countsAgainstHealth(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	k := Kind(err)
	return k == contract.ErrNameThrottled || k == contract.ErrNameTransient
}
