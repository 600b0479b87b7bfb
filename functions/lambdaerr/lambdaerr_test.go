package lambdaerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestWrap(t *testing.T) {
	named := fmt.Errorf("pass1: %w", &contract.Error{Name: contract.ErrNameThrottled, Message: "slow down"})
	plain := errors.New("boom")
	tests := []struct {
		name     string
		err      error
		wantType string
	}{
		{"named error in chain", named, contract.ErrNameThrottled},
		{"plain error untouched", plain, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Wrap(tt.err)
			var ire messages.InvokeResponse_Error
			if errors.As(got, &ire) != (tt.wantType != "") || ire.Type != tt.wantType {
				t.Fatalf("Wrap(%v) = %#v, want type %q", tt.err, got, tt.wantType)
			}
			if tt.wantType == "" && got != tt.err {
				t.Fatalf("plain error changed: %v", got)
			}
		})
	}
}
