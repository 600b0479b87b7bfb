package localcloud

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestFunctionName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"work", "work"},
		{"work:live", "work"},
		{"123456789012:function:work", "work"},
		{"123456789012:function:work:$LATEST", "work"},
		{"arn:aws:lambda:us-east-1:123456789012:function:work", "work"},
		{"arn:aws:lambda:us-east-1:123456789012:function:work:7", "work"},
	}
	for _, tt := range tests {
		if got := functionName(tt.in); got != tt.want {
			t.Errorf("functionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type valueErr struct{}

func (valueErr) Error() string { return "value" }

func TestErrorType(t *testing.T) {
	named := &contract.Error{Name: contract.ErrNameTruncated, Message: "cut"}
	tests := []struct {
		err      error
		wantType string
		wantMsg  string
	}{
		{named, contract.ErrNameTruncated, "cut"},
		{fmt.Errorf("pass2: %w", named), contract.ErrNameTruncated, "cut"},
		{errors.New("x"), "errorString", "x"},
		{fs.ErrNotExist, "errorString", "file does not exist"},
		{&fs.PathError{Op: "open", Path: "p", Err: fs.ErrNotExist}, "PathError", "open p: file does not exist"},
		{valueErr{}, "valueErr", "value"},
	}
	for _, tt := range tests {
		if got := errorType(tt.err); got != tt.wantType {
			t.Errorf("errorType(%v) = %q, want %q", tt.err, got, tt.wantType)
		}
		if got := errorMessage(tt.err); got != tt.wantMsg {
			t.Errorf("errorMessage(%v) = %q, want %q", tt.err, got, tt.wantMsg)
		}
	}
}
