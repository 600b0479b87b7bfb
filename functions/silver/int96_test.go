package silver

import (
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/deprecated"
)

func TestInt96(t *testing.T) {
	tests := []struct {
		name string
		raw  deprecated.Int96 // nanos low word, nanos high word, Julian day
		want time.Time
	}{
		{"unix epoch", deprecated.Int96{0, 0, 2440588}, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"J2000 midnight", deprecated.Int96{0, 0, 2451545}, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"last nanosecond before epoch", deprecated.Int96{0x914EFFFF, 0x4E94, 2440587}, time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"1900 pre-epoch", deprecated.Int96{0, 0, 2415021}, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"nanoseconds kept", deprecated.Int96{0xc2fd234c, 0x31a0, 2460749}, time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Int96Time(tt.raw)
			if !ok || !got.Equal(tt.want) {
				t.Errorf("Int96Time(%v) = %v, %v; want %v", tt.raw, got, ok, tt.want)
			}
			if enc := TimeInt96(tt.want); enc != tt.raw {
				t.Errorf("TimeInt96(%v) = %v; want %v", tt.want, enc, tt.raw)
			}
		})
	}
	if _, ok := Int96Time(deprecated.Int96{}); ok {
		t.Error("zero INT96 (null) decoded as a time")
	}
}

func TestPartition(t *testing.T) {
	p, err := ParsePartition("year=2025/month=01/day=02/hour=03")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC); !p.Hour.Equal(want) {
		t.Errorf("hour = %v, want %v", p.Hour, want)
	}
	if got := p.Prefix("linkedin/"); got != "linkedin/year=2025/month=01/day=02/hour=03/" {
		t.Errorf("prefix = %q", got)
	}
	for _, bad := range []string{"year=2025/month=1/day=2/hour=3", "2025/01/02/03", "year=2025/month=01/day=02", "year=2025/month=01/day=02/hour=7"} {
		if _, err := ParsePartition(bad); err == nil {
			t.Errorf("ParsePartition(%q) accepted", bad)
		}
	}
}
