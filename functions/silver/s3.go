package silver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Bucket is the Silver bucket.
type Bucket struct {
	client *s3.Client
	name   string
}

// NewBucket returns the Silver bucket name read through client.
func NewBucket(client *s3.Client, name string) *Bucket {
	return &Bucket{client: client, name: name}
}

// PartitionFiles is a partition and its parquet part files.
type PartitionFiles struct {
	Partition Partition
	Keys      []string
}

// ListPartitions lists up to limit partitions under prefix that sort after the
// partition named after ("" for all), oldest first, with their parquet files. Objects
// outside the zero-padded layout and files that are not parquet are ignored.
func (b *Bucket) ListPartitions(ctx context.Context, prefix, after string, limit int) ([]PartitionFiles, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(prefix)}
	if after != "" {
		// '0' sorts right after '/', so this skips every key inside the partition
		// `after` and starts at the next one.
		in.StartAfter = aws.String(prefix + after + "0")
	}
	var out []PartitionFiles
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", b.name, prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			p, ok := partitionOfKey(strings.TrimPrefix(key, prefix))
			if !ok || !strings.HasSuffix(key, ".parquet") {
				continue
			}
			if n := len(out); n > 0 && out[n-1].Partition == p {
				out[n-1].Keys = append(out[n-1].Keys, key)
				continue
			}
			if len(out) == limit {
				return out, nil
			}
			out = append(out, PartitionFiles{Partition: p, Keys: []string{key}})
		}
	}
	return out, nil
}

// Files lists the parquet files of one partition under prefix.
func (b *Bucket) Files(ctx context.Context, prefix string, p Partition) (PartitionFiles, error) {
	pf := PartitionFiles{Partition: p}
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(p.Prefix(prefix))})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return pf, fmt.Errorf("listing s3://%s/%s: %w", b.name, p.Prefix(prefix), err)
		}
		for _, obj := range page.Contents {
			if key := aws.ToString(obj.Key); strings.HasSuffix(key, ".parquet") {
				pf.Keys = append(pf.Keys, key)
			}
		}
	}
	return pf, nil
}

// partitionOfKey parses the first four segments of a key relative to the prefix.
func partitionOfKey(rel string) (Partition, bool) {
	segs := strings.SplitN(rel, "/", 5)
	if len(segs) < 5 {
		return Partition{}, false
	}
	p, err := ParsePartition(strings.Join(segs[:4], "/"))
	return p, err == nil
}

// ReadObject reads one parquet object (see Read). The object is fetched with a
// single GET: docs/performance.md ("Silver") compares this with ranged reads.
func (b *Bucket) ReadObject(ctx context.Context, key string, fn func(contract.Posting) error) (Stats, error) {
	data, err := b.get(ctx, key)
	if err != nil {
		return Stats{}, err
	}
	return Read(bytes.NewReader(data), int64(len(data)), "s3://"+b.name+"/"+key, fn)
}

func (b *Bucket) get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("getting s3://%s/%s: %w", b.name, key, err)
	}
	defer out.Body.Close()
	buf := bytes.NewBuffer(make([]byte, 0, aws.ToInt64(out.ContentLength)))
	if _, err := io.Copy(buf, out.Body); err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", b.name, key, err)
	}
	return buf.Bytes(), nil
}
