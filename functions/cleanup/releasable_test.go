package cleanup

import (
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func TestReleasable(t *testing.T) {
	timeout := 30 * time.Minute
	tests := []struct {
		status sfntypes.ExecutionStatus
		held   time.Duration
		want   bool
	}{
		{sfntypes.ExecutionStatusRunning, 10 * time.Hour, false},
		{sfntypes.ExecutionStatusPendingRedrive, 10 * time.Hour, false},
		{sfntypes.ExecutionStatusSucceeded, time.Second, true},
		{sfntypes.ExecutionStatusFailed, time.Second, true},
		{sfntypes.ExecutionStatusTimedOut, time.Second, true},
		{sfntypes.ExecutionStatusAborted, time.Second, true},
		{StatusUnknown, time.Minute, false},
		{StatusUnknown, time.Hour, true},
	}
	for _, tt := range tests {
		if got := Releasable(tt.status, tt.held, timeout); got != tt.want {
			t.Errorf("%s held %s: releasable %v, want %v", tt.status, tt.held, got, tt.want)
		}
	}
}
