package silver_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

// newBucket creates a fresh bucket in the local cloud.
func newBucket(t testing.TB, name string) *s3.Client {
	t.Helper()
	ctx := context.Background()
	cfg, err := localcloud.Shared(t).AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return client
}

func put(t *testing.T, client *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func TestListPartitions(t *testing.T) {
	ctx := context.Background()
	client := newBucket(t, "silver-list")
	ps := sample.Partitions(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), 5) // crosses a year
	if _, err := sample.WritePartitions(ctx, client, "silver-list", "linkedin/", ps, 3, 1); err != nil {
		t.Fatal(err)
	}
	second := sample.FileKey("linkedin/", ps[1], 1)
	put(t, client, "silver-list", second, "not parsed by listing")
	put(t, client, "silver-list", "linkedin/year=2025/month=12/day=31/hour=20/_SUCCESS", "")
	put(t, client, "silver-list", "linkedin/year=2025/month=12/day=31/hour=7/part-0.parquet", "unpadded")
	put(t, client, "silver-list", "other/year=2025/month=12/day=31/hour=20/part-0.parquet", "other prefix")

	b := silver.NewBucket(client, "silver-list")
	tests := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"all", "", 10, []string{ps[0].String(), ps[1].String(), ps[2].String(), ps[3].String(), ps[4].String()}},
		{"limited", "", 2, []string{ps[0].String(), ps[1].String()}},
		{"after cursor", ps[1].String(), 2, []string{ps[2].String(), ps[3].String()}},
		{"nothing new", ps[4].String(), 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.ListPartitions(ctx, "linkedin/", tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, pf := range got {
				names = append(names, pf.Partition.String())
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Fatalf("partitions = %v, want %v", names, tt.want)
			}
			for _, pf := range got {
				want := 1
				if pf.Partition == ps[1] {
					want = 2
				}
				if len(pf.Keys) != want {
					t.Errorf("%s: keys %v", pf.Partition, pf.Keys)
				}
			}
		})
	}
}

func TestReadObject(t *testing.T) {
	ctx := context.Background()
	client := newBucket(t, "silver-read")
	p := sample.Partitions(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), 1)
	keys, err := sample.WritePartitions(ctx, client, "silver-read", "linkedin/", p, 50, 2)
	if err != nil {
		t.Fatal(err)
	}
	put(t, client, "silver-read", "linkedin/broken.parquet", "PAR1 garbage")
	b := silver.NewBucket(client, "silver-read")
	n := 0
	stats, err := b.ReadObject(ctx, keys[0], func(contract.Posting) error { n++; return nil })
	if err != nil || n != 50 || stats.Valid != 50 {
		t.Fatalf("read %d postings, stats %+v, err %v", n, stats, err)
	}
	for _, key := range []string{"linkedin/broken.parquet", "linkedin/missing.parquet"} {
		if _, err := b.ReadObject(ctx, key, func(contract.Posting) error { return nil }); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err = %v, want an error naming the key", key, err)
		}
	}
}

// rangedReader is an io.ReaderAt over S3 ranged GETs with a read-ahead block, the
// alternative to ReadObject's single GET that BenchmarkS3Read measures.
type rangedReader struct {
	ctx         context.Context
	client      *s3.Client
	bucket, key string
	block       int64
	cache       []byte
	cacheOff    int64
	gets, bytes int64
}

func (r *rangedReader) ReadAt(p []byte, off int64) (int, error) {
	if off < r.cacheOff || off+int64(len(p)) > r.cacheOff+int64(len(r.cache)) {
		size := max(int64(len(p)), r.block)
		out, err := r.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: aws.String(r.bucket), Key: aws.String(r.key),
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+size-1)),
		})
		if err != nil {
			return 0, err
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return 0, err
		}
		r.gets++
		r.bytes += int64(len(data))
		r.cache, r.cacheOff = data, off
	}
	n := copy(p, r.cache[off-r.cacheOff:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func BenchmarkS3Read(b *testing.B) {
	ctx := context.Background()
	client := newBucket(b, "silver-bench")
	p := sample.Partitions(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), 1)
	keys, err := sample.WritePartitions(ctx, client, "silver-bench", "linkedin/", p, 2000, 3)
	if err != nil {
		b.Fatal(err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("silver-bench"), Key: aws.String(keys[0])})
	if err != nil {
		b.Fatal(err)
	}
	size := aws.ToInt64(head.ContentLength)
	noop := func(contract.Posting) error { return nil }

	b.Run("whole-object", func(b *testing.B) {
		bucket := silver.NewBucket(client, "silver-bench")
		for b.Loop() {
			if _, err := bucket.ReadObject(ctx, keys[0], noop); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(1, "gets/op")
		b.ReportMetric(float64(size), "s3bytes/op")
	})
	for _, block := range []int64{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("ranged-%dKiB", block>>10), func(b *testing.B) {
			var gets, bytes int64
			for b.Loop() {
				r := &rangedReader{ctx: ctx, client: client, bucket: "silver-bench", key: keys[0], block: block, cacheOff: -1}
				if _, err := silver.Read(r, size, keys[0], noop); err != nil {
					b.Fatal(err)
				}
				gets, bytes = gets+r.gets, bytes+r.bytes
			}
			b.ReportMetric(float64(gets)/float64(b.N), "gets/op")
			b.ReportMetric(float64(bytes)/float64(b.N), "s3bytes/op")
		})
	}
}
