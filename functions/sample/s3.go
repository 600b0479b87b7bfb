package sample

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/silver"
)

// Partitions returns n consecutive hourly partitions ending with the one holding
// last, oldest first.
func Partitions(last time.Time, n int) []silver.Partition {
	end := silver.PartitionOf(last).Hour
	ps := make([]silver.Partition, n)
	for i := range ps {
		ps[i] = silver.Partition{Hour: end.Add(-time.Duration(n-1-i) * time.Hour)}
	}
	return ps
}

// Rows generates n postings scraped within partition p.
func (g *Generator) Rows(p silver.Partition, n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		// Spread over the hour, with sub-second precision as Spark keeps it.
		at := p.Hour.Add(time.Duration(i) * time.Hour / time.Duration(n)).Add(time.Duration(g.pick(1e9)))
		rows[i] = g.Row(at)
	}
	return rows
}

// FileKey is the key of a Spark-like part file in partition p under prefix.
func FileKey(prefix string, p silver.Partition, part int) string {
	return fmt.Sprintf("%spart-%05d-%08x-c000.snappy.parquet", p.Prefix(prefix), part, uint32(p.Hour.Unix()/3600))
}

// PutFile writes rows as one parquet object.
func PutFile(ctx context.Context, client *s3.Client, bucket, key string, rows []Row) error {
	var buf bytes.Buffer
	if err := Write(&buf, rows, 0); err != nil {
		return err
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(buf.Bytes()),
	}); err != nil {
		return fmt.Errorf("putting sample s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// WritePartitions writes jobsPerPartition generated postings into each partition,
// one part file per partition, deterministically from seed. It returns the keys.
func WritePartitions(ctx context.Context, client *s3.Client, bucket, prefix string, partitions []silver.Partition, jobsPerPartition int, seed uint64) ([]string, error) {
	g := NewGenerator(seed)
	keys := make([]string, 0, len(partitions))
	for _, p := range partitions {
		key := FileKey(prefix, p, 0)
		if err := PutFile(ctx, client, bucket, key, g.Rows(p, jobsPerPartition)); err != nil {
			return keys, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}
