package silver

import (
	"fmt"
	"time"
)

// Partition is one hourly Silver partition, `year=YYYY/month=MM/day=DD/hour=HH`.
// The fields are zero padded, so the string form sorts in time order.
type Partition struct {
	Hour time.Time // UTC, truncated to the hour
}

const partitionLayout = "year=2006/month=01/day=02/hour=15"

// PartitionOf returns the partition holding t.
func PartitionOf(t time.Time) Partition {
	return Partition{Hour: t.UTC().Truncate(time.Hour)}
}

// ParsePartition parses `year=YYYY/month=MM/day=DD/hour=HH`.
func ParsePartition(s string) (Partition, error) {
	t, err := time.Parse(partitionLayout, s)
	// time.Parse accepts an unpadded hour; only the padded form sorts in time order.
	if err != nil || t.Format(partitionLayout) != s {
		return Partition{}, fmt.Errorf("partition %q: want zero-padded year=YYYY/month=MM/day=DD/hour=HH", s)
	}
	return Partition{Hour: t}, nil
}

func (p Partition) String() string { return p.Hour.Format(partitionLayout) }

// Prefix is the S3 key prefix of the partition under the Silver root prefix.
func (p Partition) Prefix(root string) string { return root + p.String() + "/" }

// End is when the partition's hour is over.
func (p Partition) End() time.Time { return p.Hour.Add(time.Hour) }
