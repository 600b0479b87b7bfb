package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// httpError is an unmodeled API error with an HTTP status, as the SDK returns it.
func httpError(status int, code string) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Fault: smithy.FaultClient},
	}}
}

func TestKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"throttling", &types.ThrottlingException{}, contract.ErrNameThrottled},
		{"quota", &types.ServiceQuotaExceededException{}, contract.ErrNameThrottled},
		{"wrapped throttling", fmt.Errorf("call: %w", &types.ThrottlingException{}), contract.ErrNameThrottled},
		{"unmodeled 429", httpError(429, "SomethingElse"), contract.ErrNameThrottled},
		{"internal", &types.InternalServerException{}, contract.ErrNameTransient},
		{"unavailable", &types.ServiceUnavailableException{}, contract.ErrNameTransient},
		{"model timeout", &types.ModelTimeoutException{}, contract.ErrNameTransient},
		{"model not ready", &types.ModelNotReadyException{}, contract.ErrNameTransient},
		{"unmodeled 502", httpError(502, "BadGateway"), contract.ErrNameTransient},
		{"unknown server fault", &smithy.GenericAPIError{Code: "Odd", Fault: smithy.FaultServer}, contract.ErrNameTransient},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, contract.ErrNameTransient},
		{"deadline", context.DeadlineExceeded, contract.ErrNameTransient},
		{"validation", &types.ValidationException{}, contract.ErrNameInvalidRequest},
		{"access denied", &types.AccessDeniedException{}, contract.ErrNameInvalidRequest},
		{"not found", &types.ResourceNotFoundException{}, contract.ErrNameInvalidRequest},
		{"unknown client fault", &smithy.GenericAPIError{Code: "Odd", Fault: smithy.FaultClient}, contract.ErrNameInvalidRequest},
		{"invalid call", fmt.Errorf("%w: role", ErrInvalidCall), contract.ErrNameInvalidRequest},
		{"model error", &types.ModelErrorException{}, contract.ErrNameModel},
		{"reasoning only", &NoTextError{StopReason: "end_turn", Reasoning: true}, contract.ErrNameNoJSON},
		{"reasoning only, truncated", fmt.Errorf("x: %w", &NoTextError{StopReason: "max_tokens"}), contract.ErrNameTruncated},
		{"circuit open", fmt.Errorf("x: %w", ErrCircuitOpen), contract.ErrNameCircuitOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Kind(tt.err); got != tt.want {
				t.Errorf("Kind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestNoTextErrorIsErrNoText(t *testing.T) {
	err := fmt.Errorf("x: %w", &NoTextError{StopReason: "end_turn"})
	if !errors.Is(err, ErrNoText) {
		t.Fatalf("errors.Is(%v, ErrNoText) = false", err)
	}
}
