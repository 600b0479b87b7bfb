package silver_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/silver"
)

func ptr[T any](v T) *T { return &v }

func parquetBytes(t testing.TB, rows []sample.Row, rowsPerGroup int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := sample.Write(&buf, rows, rowsPerGroup); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t *testing.T, data []byte) ([]contract.Posting, silver.Stats) {
	t.Helper()
	var got []contract.Posting
	stats, err := silver.Read(bytes.NewReader(data), int64(len(data)), "test.parquet", func(p contract.Posting) error {
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, stats
}

func TestReadMapsSparkRow(t *testing.T) {
	scraped := time.Date(2025, 11, 3, 14, 5, 6, 123456000, time.UTC)
	text := "Engenheiro de dados – São Paulo"
	rows := []sample.Row{{
		JobPostingID:       ptr("4012345678"),
		SourceSystem:       ptr("linkedin"),
		ScrapedAt:          silver.TimeInt96(scraped),
		CompanyName:        ptr("Ribeira"),
		JobTitle:           ptr("Data Engineer"),
		JobLocation:        ptr("São Paulo, SP, Brasil"),
		CountryCode:        ptr("BR"),
		JobPostedDateOnly:  ptr(int32(20000)), // 2024-10-04
		JobNumApplicants:   ptr(int32(42)),
		SalaryMin:          ptr(8000.0),
		SalaryCurrency:     ptr("BRL"),
		JobDescriptionText: &text,
		SkillsCanonical:    []string{"python", "sql"},
		SkillsFamilies:     []string{"data"},
	}}
	got, stats := readAll(t, parquetBytes(t, rows, 0))
	if stats.Rows != 1 || stats.Valid != 1 || stats.Invalid != 0 || len(got) != 1 {
		t.Fatalf("stats %+v, %d postings", stats, len(got))
	}
	p := got[0]
	checks := []struct{ field, got, want string }{
		{"id", p.JobPostingID, "4012345678"},
		{"scraped_at", p.ScrapedAt, "2025-11-03T14:05:06.123456Z"},
		{"posted from DATE", p.JobPostedAt, "2024-10-04T00:00:00Z"},
		{"location", p.JobLocation, "São Paulo, SP, Brasil"},
		{"currency", p.SalaryCurrency, "BRL"},
		{"skills", strings.Join(p.SkillsCanonical, ","), "python,sql"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if p.DescriptionChars != 31 {
		t.Errorf("description_chars = %d, want 31 runes", p.DescriptionChars)
	}
	if p.JobNumApplicants == nil || *p.JobNumApplicants != 42 || p.SalaryMin == nil || *p.SalaryMin != 8000 || p.SalaryMax != nil || p.ApplicationOpen != nil {
		t.Errorf("numbers: applicants %v, min %v, max %v, open %v", p.JobNumApplicants, p.SalaryMin, p.SalaryMax, p.ApplicationOpen)
	}
}

func TestReadRowGroupsAndGenerated(t *testing.T) {
	p := silver.PartitionOf(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC))
	rows := sample.NewGenerator(7).Rows(p, 1000)
	got, stats := readAll(t, parquetBytes(t, rows, 128))
	if stats.Valid != 1000 || len(got) != 1000 {
		t.Fatalf("stats %+v", stats)
	}
	for i, g := range got {
		if g.JobPostingID != *rows[i].JobPostingID || g.DescriptionText != *rows[i].JobDescriptionText {
			t.Fatalf("row %d: got id %s, want %s", i, g.JobPostingID, *rows[i].JobPostingID)
		}
		at, err := time.Parse(time.RFC3339Nano, g.ScrapedAt)
		if err != nil || silver.PartitionOf(at) != p {
			t.Fatalf("row %d: scraped_at %q outside %s (%v)", i, g.ScrapedAt, p, err)
		}
	}
}

func TestReadReportsInvalidRows(t *testing.T) {
	at := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	rows := append(sample.NewGenerator(1).Rows(silver.PartitionOf(at), 2), sample.Tricky(at)...)
	got, stats := readAll(t, parquetBytes(t, rows, 0))
	if len(got) != 2 || stats.Rows != 5 || stats.Valid != 2 || stats.Invalid != 3 {
		t.Fatalf("got %d postings, stats %+v", len(got), stats)
	}
	want := []struct {
		row    int64
		id     string
		reason string
	}{{2, "../x", "invalid job_posting_id"}, {3, "3800000001", "empty job_description_text"}, {4, "", "invalid job_posting_id"}}
	for i, w := range want {
		r := stats.Rejected[i]
		if r.Row != w.row || r.ID != w.id || r.Reason != w.reason || r.Key != "test.parquet" {
			t.Errorf("rejected[%d] = %+v, want %+v", i, r, w)
		}
	}
}

// A file with fewer columns than the projection (an older or narrower writer) reads
// with the missing columns empty; extra columns are covered by sample.Row itself.
func TestReadMissingColumns(t *testing.T) {
	type narrow struct {
		JobPostingID string `parquet:"job_posting_id"`
		Text         string `parquet:"job_description_text"`
		Extra        int64  `parquet:"something_new"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []narrow{{"12", "text", 1}}); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, buf.Bytes())
	if len(got) != 1 || got[0].JobPostingID != "12" || got[0].JobTitle != "" || got[0].ScrapedAt != "" {
		t.Fatalf("got %+v", got)
	}
}

// A file without a required column (an upstream rename) is a schema error naming the
// column, not rows with an empty description.
func TestReadMissingRequiredColumn(t *testing.T) {
	type renamed struct {
		JobPostingID string `parquet:"job_posting_id"`
		Text         string `parquet:"description"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []renamed{{"12", "text"}}); err != nil {
		t.Fatal(err)
	}
	_, err := silver.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "s3://silver/renamed.parquet", func(contract.Posting) error { return nil })
	if !errors.Is(err, silver.ErrMalformed) || !strings.Contains(err.Error(), `"job_description_text" is missing`) {
		t.Fatalf("err = %v, want a schema error naming job_description_text", err)
	}
}

func TestReadBrokenFile(t *testing.T) {
	good := parquetBytes(t, sample.NewGenerator(1).Rows(silver.PartitionOf(time.Now()), 10), 0)
	tests := map[string][]byte{
		"not parquet": []byte("this is not a parquet file at all"),
		"truncated":   good[:len(good)/2],
		"empty":       nil,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := silver.Read(bytes.NewReader(data), int64(len(data)), "s3://silver/broken.parquet", func(contract.Posting) error { return nil })
			if !errors.Is(err, silver.ErrMalformed) || !strings.Contains(err.Error(), "s3://silver/broken.parquet") {
				t.Fatalf("err = %v, want an error naming the key", err)
			}
		})
	}
}

// Some writers store the id as a bigint; parquet-go converts it to its digits.
func TestReadNumericID(t *testing.T) {
	type numeric struct {
		JobPostingID int64  `parquet:"job_posting_id"`
		Text         string `parquet:"job_description_text"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []numeric{{4012345678, "text"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, buf.Bytes())
	if len(got) != 1 || got[0].JobPostingID != "4012345678" {
		t.Fatalf("got %+v", got)
	}
}

func BenchmarkRead(b *testing.B) {
	rows := sample.NewGenerator(3).Rows(silver.PartitionOf(time.Now()), 2000)
	data := parquetBytes(b, rows, 0)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := silver.Read(bytes.NewReader(data), int64(len(data)), "bench", func(contract.Posting) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
