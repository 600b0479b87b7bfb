// Package bronze stores pass results in the Bronze bucket. The JSON document of a pass
// is also its cache entry; writes are conditional so two writers never silently
// overwrite each other's result.
package bronze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// ErrConflict means another writer changed the object between our read and our write.
var ErrConflict = errors.New("bronze: concurrent write")

// maxDocumentBytes bounds what we read back: a pass answer at the largest budget is far
// below it, and anything larger is not ours.
const maxDocumentBytes = 8 << 20

// Metadata describes how a pass result was produced.
type Metadata struct {
	JobPostingID string        `json:"job_posting_id"`
	Pass         contract.Pass `json:"pass_name"`
	Section      string        `json:"section"`
	ModelID      string        `json:"model_id"`
	// AnswerSource is who answered: SourceBedrock, or how the local cloud's emulator
	// did ("offline", "replay"). Documents written before the field are Bedrock's.
	AnswerSource   string          `json:"answer_source,omitempty"`
	PromptVersion  string          `json:"prompt_version"`
	ExecutionID    string          `json:"execution_id"`
	Partition      string          `json:"partition,omitempty"`
	JobTitle       string          `json:"job_title"`
	CompanyName    string          `json:"company_name"`
	JobLocation    string          `json:"job_location"`
	Tokens         contract.Tokens `json:"tokens"`
	CostUSD        float64         `json:"cost_usd"`
	CostKnown      bool            `json:"cost_known"`
	ModelCalls     int             `json:"model_calls"`
	StopReason     string          `json:"stop_reason"`
	ParseStatus    string          `json:"parse_status"`
	StartedAt      string          `json:"started_at"`
	FinishedAt     string          `json:"finished_at"`
	ModelLatencyMs int64           `json:"model_latency_ms"`
	TotalMs        int64           `json:"total_ms"`
}

// SourceBedrock is the AnswerSource of an answer from Amazon Bedrock.
const SourceBedrock = "bedrock"

// FromBedrock reports whether Amazon Bedrock answered: only such a document may serve
// a cache lookup of a handler that calls Bedrock.
func (m Metadata) FromBedrock() bool { return m.AnswerSource == "" || m.AnswerSource == SourceBedrock }

// Issue is a field-level problem the validator found and normalised or dropped.
type Issue struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Document is the Bronze JSON of one pass.
type Document struct {
	Metadata Metadata        `json:"metadata"`
	Result   json.RawMessage `json:"result"`
	Issues   []Issue         `json:"issues"`
}

// Store reads and writes one Bronze bucket.
type Store struct {
	client *s3.Client
	bucket string
}

// New returns a store over bucket.
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// Bucket names the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Cached is an existing result and the ETag a replacing write must match.
type Cached struct {
	Doc  Document
	ETag string
}

// Get reads a pass document; found is false when there is none.
func (s *Store) Get(ctx context.Context, key string) (c Cached, found bool, err error) {
	body, etag, found, err := s.read(ctx, key)
	if err != nil || !found {
		return Cached{}, found, err
	}
	if err := json.Unmarshal(body, &c.Doc); err != nil {
		return Cached{}, false, fmt.Errorf("decode s3://%s/%s: %w", s.bucket, key, err)
	}
	c.ETag = etag
	return c, true, nil
}

// GetPosting reads the posting snapshot discovery stored for a job.
func (s *Store) GetPosting(ctx context.Context, key string) (contract.Posting, error) {
	var p contract.Posting
	body, _, found, err := s.read(ctx, key)
	if err != nil {
		return p, err
	}
	if !found {
		return p, fmt.Errorf("posting s3://%s/%s: not found", s.bucket, key)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("decode posting s3://%s/%s: %w", s.bucket, key, err)
	}
	return p, nil
}

// PutPosting stores a posting snapshot at its contract key and returns the key.
func (s *Store) PutPosting(ctx context.Context, p contract.Posting) (string, error) {
	if err := contract.ValidateJobID(p.JobPostingID); err != nil {
		return "", err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode posting %s: %w", p.JobPostingID, err)
	}
	key := contract.PostingKey(p.JobPostingID)
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return "", fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return key, nil
}

// Raw is a pass's raw answer and what produced it. The text is the object's body (the
// reasoning, if any, in a block before the answer); the rest is its user metadata, so
// a retry of the execution whose JSON write failed parses the answer again instead of
// paying the model twice.
type Raw struct {
	Reasoning, Text string
	ExecutionID     string
	PromptVersion   string
	ModelID         string
	AnswerSource    string
	StopReason      string
	Tokens          contract.Tokens
	ModelCalls      int
	ModelLatencyMs  int64
}

const reasoningOpen, reasoningClose = "<reasoning>\n", "\n</reasoning>\n"

// User metadata keys of a raw object (S3 lower-cases them).
const (
	metaExecution, metaPrompt, metaModel, metaSource  = "execution-id", "prompt-version", "model-id", "answer-source"
	metaStop, metaIn, metaOut, metaCalls, metaLatency = "stop-reason", "input-tokens", "output-tokens", "model-calls", "model-latency-ms"
	metaTextAt                                        = "text-offset"
)

func (r Raw) body() (body string, textAt int) {
	if r.Reasoning == "" {
		return r.Text, 0
	}
	head := reasoningOpen + r.Reasoning + reasoningClose
	return head + r.Text, len(head)
}

// The raw answer is what a retry reuses instead of paying the model again, so its write
// gets more attempts than the SDK's default three, with a short backoff cap so that the
// attempts (at most 1+2+2+2 s of waiting) stay inside the pass's after-model reserve.
const (
	rawWriteAttempts   = 5
	rawWriteMaxBackoff = 2 * time.Second
)

// PutRaw stores the model's raw answer. It is written before the JSON document, which
// is the commit point of a pass: a raw object without its JSON is not a cache hit.
func (s *Store) PutRaw(ctx context.Context, key string, r Raw) error {
	body, textAt := r.body()
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: strings.NewReader(body),
		ContentType: aws.String("text/plain; charset=utf-8"),
		Metadata: map[string]string{
			metaExecution: r.ExecutionID, metaPrompt: r.PromptVersion, metaModel: r.ModelID, metaSource: r.AnswerSource,
			metaStop: r.StopReason, metaIn: itoa(int64(r.Tokens.Input)), metaOut: itoa(int64(r.Tokens.Output)),
			metaCalls: itoa(int64(r.ModelCalls)), metaLatency: itoa(r.ModelLatencyMs), metaTextAt: itoa(int64(textAt)),
		},
	}, func(o *s3.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, rawWriteAttempts), rawWriteMaxBackoff)
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// GetRaw reads a raw answer PutRaw stored; found is false when there is none.
func (s *Store) GetRaw(ctx context.Context, key string) (r Raw, found bool, err error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return Raw{}, false, nil
		}
		return Raw{}, false, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxDocumentBytes+1))
	if err != nil {
		return Raw{}, false, fmt.Errorf("read s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(body) > maxDocumentBytes {
		return Raw{}, false, fmt.Errorf("s3://%s/%s: larger than %d bytes", s.bucket, key, maxDocumentBytes)
	}
	m := out.Metadata
	if m[metaExecution] == "" { // written before the metadata: an answer of no known execution
		return Raw{Text: string(body)}, true, nil
	}
	var bad error
	num := func(k string) int64 {
		n, perr := strconv.ParseInt(m[k], 10, 64)
		if perr != nil && bad == nil {
			bad = fmt.Errorf("s3://%s/%s: metadata %s: %w", s.bucket, key, k, perr)
		}
		return n
	}
	r = Raw{
		ExecutionID: m[metaExecution], PromptVersion: m[metaPrompt], ModelID: m[metaModel], AnswerSource: m[metaSource],
		StopReason: m[metaStop], Tokens: contract.Tokens{Input: int(num(metaIn)), Output: int(num(metaOut))},
		ModelCalls: int(num(metaCalls)), ModelLatencyMs: num(metaLatency),
	}
	textAt := num(metaTextAt)
	switch {
	case bad != nil:
		return Raw{}, false, bad
	case textAt < 0 || textAt > int64(len(body)):
		return Raw{}, false, fmt.Errorf("s3://%s/%s: not a raw answer of this store", s.bucket, key)
	case textAt > 0:
		r.Reasoning = strings.TrimSuffix(strings.TrimPrefix(string(body[:textAt]), reasoningOpen), reasoningClose)
	}
	r.Text = string(body[textAt:])
	return r, true, nil
}

// PutDocument writes a pass document. With replaceETag empty the write succeeds only if
// no document exists; otherwise only if the existing one still has that ETag. A lost
// race returns ErrConflict.
func (s *Store) PutDocument(ctx context.Context, key string, doc Document, replaceETag string) error {
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	}
	if replaceETag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(replaceETag)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		if isPreconditionFailed(err) {
			return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, ErrConflict)
		}
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

func (s *Store) read(ctx context.Context, key string) (body []byte, etag string, found bool, err error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, "", false, nil
		}
		return nil, "", false, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	body, err = io.ReadAll(io.LimitReader(out.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, "", false, fmt.Errorf("read s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(body) > maxDocumentBytes {
		return nil, "", false, fmt.Errorf("s3://%s/%s: larger than %d bytes", s.bucket, key, maxDocumentBytes)
	}
	return body, aws.ToString(out.ETag), true, nil
}

// isPreconditionFailed recognises S3's answers to a failed If-Match / If-None-Match
// (412) and to a concurrent conditional write (409 ConditionalRequestConflict).
func isPreconditionFailed(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		if c := re.HTTPStatusCode(); c == http.StatusPreconditionFailed || c == http.StatusConflict {
			return true
		}
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}
