package silver

import (
	"time"

	"github.com/parquet-go/parquet-go/deprecated"
)

// Spark writes legacy timestamps as INT96: 8 bytes of nanoseconds within the day
// followed by 4 bytes of Julian day number, all little-endian. parquet-go hands the
// 12 bytes back as three uint32 words without interpreting them.
const (
	julianUnixEpoch = 2440588 // Julian day number of 1970-01-01
	nanosPerDay     = int64(24 * time.Hour)
)

// Int96Time decodes a Spark INT96 timestamp to UTC. ok is false for the zero value,
// which parquet-go uses for a null.
func Int96Time(v deprecated.Int96) (t time.Time, ok bool) {
	if v.IsZero() {
		return time.Time{}, false
	}
	nanos := int64(uint64(v[1])<<32 | uint64(v[0]))
	days := int64(int32(v[2])) - julianUnixEpoch
	return time.Unix(days*86400, 0).Add(time.Duration(nanos)).UTC(), true
}

// TimeInt96 encodes t the way Spark does, for writers of test and sample data.
func TimeInt96(t time.Time) deprecated.Int96 {
	secs := t.Unix()
	days := secs / 86400
	if secs%86400 < 0 {
		days-- // floor division so the time of day stays positive before 1970
	}
	nanos := (secs-days*86400)*int64(time.Second) + int64(t.Nanosecond())
	return deprecated.Int96{uint32(nanos), uint32(uint64(nanos) >> 32), uint32(int32(days + julianUnixEpoch))}
}
