// Package silver reads the Spark-written Silver parquet files and maps their rows to
// contract.Posting.
package silver

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// row is the projection of the Silver schema that becomes a Posting: parquet-go reads
// only these leaf columns. Spark writes every column as optional; a null string reads
// as "" and a null INT96 as the zero value.
type row struct {
	JobPostingID      string           `parquet:"job_posting_id,optional"`
	SourceSystem      string           `parquet:"source_system,optional"`
	URL               string           `parquet:"url,optional"`
	ScrapedAt         deprecated.Int96 `parquet:"scraped_at,optional"`
	CompanyName       string           `parquet:"company_name,optional"`
	JobTitle          string           `parquet:"job_title,optional"`
	JobSeniorityLevel string           `parquet:"job_seniority_level,optional"`
	JobFunction       string           `parquet:"job_function,optional"`
	JobEmploymentType string           `parquet:"job_employment_type,optional"`
	JobIndustries     string           `parquet:"job_industries,optional"`
	JobLocation       string           `parquet:"job_location,optional"`
	CountryCode       string           `parquet:"country_code,optional"`
	JobPostedAt       deprecated.Int96 `parquet:"job_posted_datetime,optional"`
	JobPostedDate     *int32           `parquet:"job_posted_date_only,optional,date"`
	ApplicationOpen   *bool            `parquet:"application_availability,optional"`
	JobNumApplicants  *int32           `parquet:"job_num_applicants,optional"`
	SalaryMin         *float64         `parquet:"salary_min,optional"`
	SalaryMax         *float64         `parquet:"salary_max,optional"`
	SalaryCurrency    string           `parquet:"salary_currency,optional"`
	SalaryPeriod      string           `parquet:"salary_period,optional"`
	DescriptionText   string           `parquet:"job_description_text,optional"`
	SkillsCanonical   []string         `parquet:"skills_canonical,optional,list" parquet-element:",optional"`
}

// requiredColumns are those without which a row is no job: an upstream rename of one
// must fail the file as a schema error, not read as rows with an empty id or text.
var requiredColumns = []string{"job_posting_id", "job_description_text"}

func checkRequired(schema *parquet.Schema, key string) error {
	for _, c := range requiredColumns {
		if _, ok := schema.Lookup(c); !ok {
			return fmt.Errorf("silver file %s: %w: required column %q is missing (renamed upstream?)", key, ErrMalformed, c)
		}
	}
	return nil
}

// ErrMalformed marks a file that is not readable Silver parquet: retrying will not help.
var ErrMalformed = errors.New("malformed silver parquet")

// Invalid is a row that cannot become a job; it is reported, never fatal.
type Invalid struct {
	Key    string `json:"key"`
	Row    int64  `json:"row"` // index in the file
	ID     string `json:"job_posting_id"`
	Reason string `json:"reason"`
}

// Stats counts the rows of one or more files.
type Stats struct {
	Rows    int `json:"rows"`
	Valid   int `json:"valid"`
	Invalid int `json:"invalid"`
	// Rejected lists the first invalid rows (at most MaxRejected) so reports stay small.
	Rejected []Invalid `json:"rejected,omitempty"`
}

// MaxRejected bounds Stats.Rejected.
const MaxRejected = 20

func (s *Stats) reject(r Invalid) {
	s.Invalid++
	if len(s.Rejected) < MaxRejected {
		s.Rejected = append(s.Rejected, r)
	}
}

const batchRows = 512

// Read parses one parquet file of size bytes and calls fn with each valid posting, row
// group by row group. key names the file in errors and reports. An error from fn stops
// the read and is returned as is.
func Read(r io.ReaderAt, size int64, key string, fn func(contract.Posting) error) (stats Stats, err error) {
	f, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return stats, fmt.Errorf("silver file %s: %w: %w", key, ErrMalformed, err)
	}
	if err := checkRequired(f.Schema(), key); err != nil {
		return stats, err
	}
	var fnErr error
	defer func() {
		// parquet-go panics when a column cannot be converted to the projection.
		if p := recover(); p != nil {
			err = fmt.Errorf("silver file %s: %w: unexpected schema: %v", key, ErrMalformed, p)
		}
	}()
	buf := make([]row, batchRows)
	var index int64
	for _, rg := range f.RowGroups() {
		rr := parquet.NewGenericRowGroupReader[row](rg)
		for {
			n, rerr := rr.Read(buf)
			for i := range buf[:n] {
				stats.Rows++
				p, reason := posting(&buf[i])
				if reason != "" {
					stats.reject(Invalid{Key: key, Row: index, ID: clip(buf[i].JobPostingID), Reason: reason})
				} else {
					stats.Valid++
					if fnErr = fn(p); fnErr != nil {
						_ = rr.Close()
						return stats, fnErr
					}
				}
				buf[i] = row{}
				index++
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				_ = rr.Close()
				return stats, fmt.Errorf("silver file %s: %w: reading rows: %w", key, ErrMalformed, rerr)
			}
		}
		if err := rr.Close(); err != nil {
			return stats, fmt.Errorf("silver file %s: %w: closing row group: %w", key, ErrMalformed, err)
		}
	}
	return stats, nil
}

// posting maps a row, or says why it cannot be a job.
func posting(r *row) (contract.Posting, string) {
	if err := contract.ValidateJobID(r.JobPostingID); err != nil {
		return contract.Posting{}, "invalid job_posting_id"
	}
	if strings.TrimSpace(r.DescriptionText) == "" {
		return contract.Posting{}, "empty job_description_text"
	}
	p := contract.Posting{
		JobPostingID:      r.JobPostingID,
		SourceSystem:      r.SourceSystem,
		URL:               r.URL,
		CompanyName:       r.CompanyName,
		JobTitle:          r.JobTitle,
		JobSeniorityLevel: r.JobSeniorityLevel,
		JobFunction:       r.JobFunction,
		JobEmploymentType: r.JobEmploymentType,
		JobIndustries:     r.JobIndustries,
		JobLocation:       r.JobLocation,
		CountryCode:       r.CountryCode,
		JobNumApplicants:  r.JobNumApplicants,
		ApplicationOpen:   r.ApplicationOpen,
		SalaryMin:         r.SalaryMin,
		SalaryMax:         r.SalaryMax,
		SalaryCurrency:    r.SalaryCurrency,
		SalaryPeriod:      r.SalaryPeriod,
		DescriptionText:   r.DescriptionText,
		SkillsCanonical:   r.SkillsCanonical,
		DescriptionChars:  utf8.RuneCountInString(r.DescriptionText),
	}
	if t, ok := Int96Time(r.ScrapedAt); ok {
		p.ScrapedAt = t.Format(time.RFC3339Nano)
	}
	if t, ok := Int96Time(r.JobPostedAt); ok {
		p.JobPostedAt = t.Format(time.RFC3339Nano)
	} else if r.JobPostedDate != nil {
		// Only the day is known: DATE counts days since 1970-01-01.
		p.JobPostedAt = time.Unix(int64(*r.JobPostedDate)*86400, 0).UTC().Format(time.RFC3339)
	}
	return p, ""
}

// clip keeps reported ids short: an invalid id can be anything.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
