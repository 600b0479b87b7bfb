package contract

import "errors"

// Error names a pass failure so the state machine can Catch it by name. The handler
// returns it as the Lambda errorType.
type Error struct {
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// Named error kinds returned by EnrichPartition (the ASL Retry and Catch match these).
const (
	ErrNameThrottled      = "ModelThrottled"
	ErrNameTransient      = "ModelTransient"
	ErrNameInvalidRequest = "ModelInvalidRequest"
	ErrNameModel          = "ModelError"
	ErrNameTruncated      = "ModelTruncated"
	ErrNameNoJSON         = "ModelNoJSON"
	ErrNameInvalidOutput  = "ModelInvalidOutput"
	ErrNameCircuitOpen    = "CircuitOpen"
	ErrNameInvalidInput   = "InvalidInput"
	ErrNameStorage        = "StorageError"
	// ErrNameClaimLost: the execution no longer holds the job's claim (aborted or timed
	// out, and cleaned up): the pass neither calls the model nor writes (issue 11, D2).
	ErrNameClaimLost = "ClaimLost"
	// ErrNameDeadline: the invocation's time ran out for the model calls (a slow model,
	// or a first call compiling a new schema). Not retried blindly: a long call retried
	// is paid twice.
	ErrNameDeadline = "ModelDeadline"
	// ErrNamePreviousMissing: an earlier pass's Bronze document is gone (a lifecycle
	// rule removed it) though its status says COMPLETED: the state machine runs the
	// passes again from the first instead of failing every attempt.
	ErrNamePreviousMissing = "PreviousResultMissing"
)

// ErrInvalidJobID marks a job id that failed validation.
var ErrInvalidJobID = errors.New("invalid job_posting_id")
