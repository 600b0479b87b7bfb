package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/tokenbench"
	"github.com/aienrichment/ai-enrichment/functions/tokens"
)

// dryRun is what `enrichctl run-pass --dry-run` prints: the Converse request exactly
// as the SDK would send it, and what it reserves.
type dryRun struct {
	DryRun          bool            `json:"dry_run"`
	Method          string          `json:"method"`
	Path            string          `json:"path"`
	Request         json.RawMessage `json:"request"`
	InputTokens     int             `json:"input_tokens"`  // o200k, system prompt and messages
	SchemaTokens    int             `json:"schema_tokens"` // the outputConfig schema, if sent
	MaxTokens       int             `json:"max_tokens"`
	RetryMaxTokens  int             `json:"retry_max_tokens"`
	ReasoningEffort string          `json:"reasoning_effort"`
	PromptVersion   string          `json:"prompt_version"`
}

// errCaptured stops the SDK once the request is serialised: nothing leaves the process.
var errCaptured = errors.New("dry run: request captured, not sent")

// captureHTTP is an SDK HTTP client that keeps the request instead of sending it.
type captureHTTP struct {
	method, path string
	body         []byte
}

func (c *captureHTTP) Do(r *http.Request) (*http.Response, error) {
	c.method, c.path = r.Method, r.URL.EscapedPath()
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		c.body = b
	}
	return nil, errCaptured
}

// captureRequest runs the real client (llm.Client → SDK serializer) up to the wire and
// returns the request it would send, without credentials or network.
func captureRequest(ctx context.Context, modelID string, req enrich.Request) (dryRun, error) {
	capture := &captureHTTP{}
	// Placeholder credentials: the request is signed in process and never sent.
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("dry-run", "dry-run", "")}
	rt := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.HTTPClient, o.Retryer = capture, aws.NopRetryer{}
	})
	_, err := llm.New(rt, llm.Options{}).Converse(ctx, enrichpartition.Call(modelID, "", req))
	if !errors.Is(err, errCaptured) {
		return dryRun{}, fmt.Errorf("dry run: %w", err)
	}
	out := dryRun{
		DryRun: true, Method: capture.method, Path: capture.path, Request: capture.body,
		MaxTokens: req.MaxTokens, RetryMaxTokens: req.RetryMaxTokens, ReasoningEffort: req.ReasoningEffort, PromptVersion: req.PromptVersion,
	}
	if out.InputTokens, err = tokenbench.InputTokens(req); err != nil {
		return dryRun{}, err
	}
	out.SchemaTokens, err = tokens.Count(string(req.Schema))
	return out, err
}
