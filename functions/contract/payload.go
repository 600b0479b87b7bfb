package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// JobRef is what travels in SQS messages, execution input and pass payloads: a bounded
// reference to a posting whose body lives in Bronze at PostingKey.
type JobRef struct {
	JobPostingID string `json:"job_posting_id"`
	Partition    string `json:"partition,omitempty"`
	PostingKey   string `json:"posting_key"`
}

// Posting is one Silver row as the passes see it. It is stored in Bronze by discovery.
type Posting struct {
	JobPostingID      string   `json:"job_posting_id"`
	SourceSystem      string   `json:"source_system,omitempty"`
	URL               string   `json:"url,omitempty"`
	ScrapedAt         string   `json:"scraped_at,omitempty"`
	CompanyName       string   `json:"company_name"`
	JobTitle          string   `json:"job_title"`
	JobSeniorityLevel string   `json:"job_seniority_level,omitempty"`
	JobFunction       string   `json:"job_function,omitempty"`
	JobEmploymentType string   `json:"job_employment_type,omitempty"`
	JobIndustries     string   `json:"job_industries,omitempty"`
	JobLocation       string   `json:"job_location"`
	CountryCode       string   `json:"country_code,omitempty"`
	JobPostedAt       string   `json:"job_posted_datetime,omitempty"`
	JobNumApplicants  *int32   `json:"job_num_applicants,omitempty"`
	ApplicationOpen   *bool    `json:"application_availability,omitempty"`
	SalaryMin         *float64 `json:"salary_min,omitempty"`
	SalaryMax         *float64 `json:"salary_max,omitempty"`
	SalaryCurrency    string   `json:"salary_currency,omitempty"`
	SalaryPeriod      string   `json:"salary_period,omitempty"`
	DescriptionText   string   `json:"job_description_text"`
	SkillsCanonical   []string `json:"skills_canonical,omitempty"`
	Partition         string   `json:"partition,omitempty"`
	DescriptionChars  int      `json:"description_chars"`
}

// QueueMessage is the SQS FIFO message body published by DiscoverPartitions.
type QueueMessage struct {
	Job   JobRef `json:"job"`
	Force bool   `json:"force,omitempty"`
	// Publication is the job's publication counter as the mark that published the
	// message wrote it; it names the execution (0 in messages older than the counter).
	Publication int `json:"publication,omitempty"`
	// Deferred names the capacity trouble (no slot, throttling, open breaker) that
	// ended the attempt which sent this message again, uncounted; empty otherwise.
	Deferred string `json:"deferred,omitempty"`
}

// ExecutionInput is the Step Functions execution input.
type ExecutionInput struct {
	JobData     JobRef `json:"job_data"`
	ExecutionID string `json:"execution_id"`
	Force       bool   `json:"force"`
	Publication int    `json:"publication"` // the claim refuses a superseded publication
}

// PassInput is the EnrichPartition payload. Previous maps an earlier pass to the Bronze
// key of its JSON result, so bodies never travel through the state machine.
type PassInput struct {
	PassName    Pass            `json:"pass_name"`
	JobData     JobRef          `json:"job_data"`
	ExecutionID string          `json:"execution_id"`
	Force       bool            `json:"force"`
	Previous    map[Pass]string `json:"previous,omitempty"`
}

// Tokens counts model tokens for one pass.
type Tokens struct {
	Input  int `json:"input"`
	Output int `json:"output"`
}

// PassOutput is what EnrichPartition returns on success. Section names the result's
// key in the Bronze document; the body itself stays in Bronze.
type PassOutput struct {
	StatusCode  int     `json:"statusCode"`
	Success     bool    `json:"success"`
	Section     string  `json:"section"`
	ModelID     string  `json:"model_id"`
	Tokens      Tokens  `json:"tokens"`
	CostUSD     float64 `json:"cost_usd"`
	CostKnown   bool    `json:"cost_known"` // false: no price for the model, CostUSD is not a cost
	Cached      bool    `json:"cached"`
	BronzeKey   string  `json:"bronze_key"`
	ParseStatus string  `json:"parse_status"`
	Issues      int     `json:"issues"`
}

// ExecutionName is deterministic per job (and per attempt nonce) so StartExecution is
// idempotent: a redelivered message starts nothing new.
func ExecutionName(jobID, nonce string) string {
	if nonce == "" {
		return "job-" + jobID
	}
	return "job-" + jobID + "-" + nonce
}

// PublicationName is the execution name of a job's publication: unique per
// publication, so a closed execution's name is never offered again (Step Functions
// keeps names of Standard workflows unique for 90 days after they close).
func PublicationName(jobID string, publication int) string {
	return ExecutionName(jobID, fmt.Sprintf("p%d", publication))
}

// DedupID is the FIFO deduplication id of a job published from a partition.
func DedupID(jobID, partition string) string {
	sum := sha256.Sum256([]byte(partition))
	return fmt.Sprintf("job-%s-%s", jobID, hex.EncodeToString(sum[:])[:16])
}

// MessageGroupID spreads jobs over a fixed number of FIFO message groups so one slow
// job does not block the rest, while a job always maps to the same group.
func MessageGroupID(jobID string, groups int) string {
	if groups <= 0 {
		groups = 1
	}
	var h uint32
	for i := 0; i < len(jobID); i++ {
		h = h*31 + uint32(jobID[i])
	}
	return fmt.Sprintf("g%02d", h%uint32(groups))
}
