package sample

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/aienrichment/ai-enrichment/functions/silver"
)

// The files must look like Spark's to the byte layout that matters to readers.
func TestWriteSparkPhysicalSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, NewGenerator(1).Rows(silver.PartitionOf(time.Now()), 10), 0); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	schema := f.Schema()
	for _, col := range []string{"scraped_at", "job_posted_datetime"} {
		leaf, ok := schema.Lookup(col)
		if !ok || leaf.Node.Type().Kind() != parquet.Int96 || !leaf.Node.Optional() {
			t.Errorf("%s: want optional INT96", col)
		}
	}
	if leaf, ok := schema.Lookup("job_posted_date_only"); !ok || leaf.Node.Type().LogicalType().String() != "DATE" {
		t.Error("job_posted_date_only: want DATE")
	}
	for _, col := range []string{"skills_canonical", "skills_families", "skills_raw_hits"} {
		// optional group (LIST) { repeated group list { optional binary element (STRING) } }
		leaf, ok := schema.Lookup(col, "list", "element")
		if !ok || !leaf.Node.Optional() || leaf.MaxRepetitionLevel != 1 || leaf.MaxDefinitionLevel != 3 {
			t.Errorf("%s: want a 3-level LIST of optional strings, got %+v", col, leaf)
		}
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec != format.Snappy {
				t.Errorf("column %v: codec %v, want snappy", c.MetaData.PathInSchema, c.MetaData.Codec)
			}
		}
	}
}

func TestGeneratorIsDeterministicAndVaried(t *testing.T) {
	p := silver.PartitionOf(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC))
	a, b := NewGenerator(42).Rows(p, 300), NewGenerator(42).Rows(p, 300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different rows")
	}
	if *NewGenerator(43).Rows(p, 1)[0].JobPostingID == *a[0].JobPostingID {
		t.Error("different seeds share ids")
	}
	seen := map[string]bool{}
	var long, short, nonASCII, noSalary, hourly bool
	countries := map[string]bool{}
	for _, r := range a {
		if seen[*r.JobPostingID] {
			t.Fatalf("duplicate id %s", *r.JobPostingID)
		}
		seen[*r.JobPostingID] = true
		text := *r.JobDescriptionText
		long = long || utf8.RuneCountInString(text) > 12000
		short = short || len(text) < 400
		nonASCII = nonASCII || strings.ContainsAny(text, "ãçéöüñ")
		noSalary = noSalary || r.SalaryMin == nil
		hourly = hourly || (r.SalaryPeriod != nil && *r.SalaryPeriod == "HOURLY")
		if r.CountryCode != nil {
			countries[*r.CountryCode] = true
		}
	}
	if !long || !short || !nonASCII || !noSalary || !hourly {
		t.Errorf("variety: long %v short %v non-ASCII %v no salary %v hourly %v", long, short, nonASCII, noSalary, hourly)
	}
	for _, c := range []string{"US", "GB", "DE", "BR", "MX"} {
		if !countries[c] {
			t.Errorf("no posting in %s", c)
		}
	}
}
