package enrichpartition

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestModelContext(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		deadline    time.Time // zero: none
		wantErr     bool
		wantModelAt time.Time // zero: no deadline
	}{
		{"no deadline (CLI)", time.Time{}, false, time.Time{}},
		{"minutes left", now.Add(3 * time.Minute), false, now.Add(3*time.Minute - AfterModelReserve)},
		{"exactly the reserve left", now.Add(AfterModelReserve), true, time.Time{}},
		{"less than the reserve left", now.Add(AfterModelReserve / 2), true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := context.Background()
			if !tt.deadline.IsZero() {
				var cancel context.CancelFunc
				parent, cancel = context.WithDeadline(parent, tt.deadline)
				defer cancel()
			}
			ctx, cancel, err := modelContext(parent, now)
			if tt.wantErr {
				var ce *contract.Error
				if !errors.As(err, &ce) || ce.Name != contract.ErrNameDeadline {
					t.Fatalf("err = %v, want a %s", err, contract.ErrNameDeadline)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			got, ok := ctx.Deadline()
			if ok != !tt.wantModelAt.IsZero() || !got.Equal(tt.wantModelAt) {
				t.Fatalf("model deadline %v (%t), want %v", got, ok, tt.wantModelAt)
			}
		})
	}
}
