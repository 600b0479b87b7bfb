// Package sample writes Spark-shaped Silver parquet files and generates realistic,
// deterministic job postings for tests, benchmarks and the demo.
package sample

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// Row is a Silver row with the production schema as Spark writes it: every column
// optional, INT96 timestamps, a DATE, 3-level LISTs of optional strings, snappy pages.
type Row struct {
	JobPostingID            *string          `parquet:"job_posting_id,optional,snappy"`
	SourceSystem            *string          `parquet:"source_system,optional,snappy"`
	URL                     *string          `parquet:"url,optional,snappy"`
	ScrapedAt               deprecated.Int96 `parquet:"scraped_at,optional,snappy"`
	CompanyName             *string          `parquet:"company_name,optional,snappy"`
	CompanyID               *string          `parquet:"company_id,optional,snappy"`
	CompanyURL              *string          `parquet:"company_url,optional,snappy"`
	JobTitle                *string          `parquet:"job_title,optional,snappy"`
	JobSeniorityLevel       *string          `parquet:"job_seniority_level,optional,snappy"`
	JobFunction             *string          `parquet:"job_function,optional,snappy"`
	JobEmploymentType       *string          `parquet:"job_employment_type,optional,snappy"`
	JobIndustries           *string          `parquet:"job_industries,optional,snappy"`
	JobLocation             *string          `parquet:"job_location,optional,snappy"`
	CountryCode             *string          `parquet:"country_code,optional,snappy"`
	JobPostedDatetime       deprecated.Int96 `parquet:"job_posted_datetime,optional,snappy"`
	JobPostedDateOnly       *int32           `parquet:"job_posted_date_only,optional,date,snappy"`
	ApplicationAvailability *bool            `parquet:"application_availability,optional,snappy"`
	ApplyLink               *string          `parquet:"apply_link,optional,snappy"`
	JobNumApplicants        *int32           `parquet:"job_num_applicants,optional,snappy"`
	SalaryMin               *float64         `parquet:"salary_min,optional,snappy"`
	SalaryMax               *float64         `parquet:"salary_max,optional,snappy"`
	SalaryCurrency          *string          `parquet:"salary_currency,optional,snappy"`
	SalaryPeriod            *string          `parquet:"salary_period,optional,snappy"`
	JobPosterName           *string          `parquet:"job_poster_name,optional,snappy"`
	JobPosterTitle          *string          `parquet:"job_poster_title,optional,snappy"`
	JobPosterProfileURL     *string          `parquet:"job_poster_profile_url,optional,snappy"`
	JobSummary              *string          `parquet:"job_summary,optional,snappy"`
	JobDescriptionHTML      *string          `parquet:"job_description_html,optional,snappy"`
	JobDescriptionText      *string          `parquet:"job_description_text,optional,snappy"`
	SkillsCanonical         []string         `parquet:"skills_canonical,optional,list,snappy" parquet-element:",optional"`
	SkillsFamilies          []string         `parquet:"skills_families,optional,list,snappy" parquet-element:",optional"`
	SkillsRawHits           []string         `parquet:"skills_raw_hits,optional,list,snappy" parquet-element:",optional"`
	SkillsCatalogVersion    *string          `parquet:"skills_catalog_version,optional,snappy"`
}

// Write writes rows as one Spark-like parquet file, rowsPerGroup rows per row group
// (0: one row group).
func Write(w io.Writer, rows []Row, rowsPerGroup int) error {
	opts := []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("parquet-mr", "1.13.1", "spark-like sample"),
	}
	if rowsPerGroup > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(int64(rowsPerGroup)))
	}
	pw := parquet.NewGenericWriter[Row](w, opts...)
	if _, err := pw.Write(rows); err != nil {
		return fmt.Errorf("writing sample rows: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("closing sample parquet: %w", err)
	}
	return nil
}
