package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// converseServer speaks the Converse REST protocol (POST /model/{id}/converse) and
// answers attempt n (1-based) with respond(n). It records every request body.
type converseServer struct {
	*httptest.Server
	respond func(w http.ResponseWriter, attempt int)

	mu       sync.Mutex
	requests []map[string]any
	paths    []string
}

func newConverseServer(t *testing.T, respond func(w http.ResponseWriter, attempt int)) *converseServer {
	t.Helper()
	s := &converseServer{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.paths = append(s.paths, r.URL.EscapedPath())
		n := len(s.requests)
		s.mu.Unlock()
		s.respond(w, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *converseServer) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *converseServer) lastRequest() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

// client returns an llm.Client on the real SDK pointed at the server, with a short
// backoff so retries do not slow the tests down.
func (s *converseServer) client(o RuntimeOptions, lo Options) *Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Millisecond
	}
	return New(NewRuntime(cfg, o), lo)
}

type block map[string]any

func text(s string) block { return block{"text": s} }
func reasoning(s string) block {
	return block{"reasoningContent": block{"reasoningText": block{"text": s}}}
}

// reply writes a Converse response.
func reply(stopReason string, blocks ...block) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"output":     block{"message": block{"role": "assistant", "content": blocks}},
			"stopReason": stopReason,
			"usage":      block{"inputTokens": 1200, "outputTokens": 340, "totalTokens": 1540},
			"metrics":    block{"latencyMs": 900},
		})
	}
}

// fail writes a Bedrock error the way the service does: status, x-amzn-ErrorType
// header, JSON message.
func fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":"%s from the test server"}`, code)
}

func failing(status int, code string) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) { fail(w, status, code) }
}

var basicCall = Call{
	ModelID:   "openai.gpt-oss-120b-1:0",
	System:    "ai-enrichment pass1 (extraction) prompt v1",
	Messages:  []Message{{Role: "user", Text: `<job_posting id="1">Go engineer</job_posting>`}},
	MaxTokens: 4096,
}

func TestConverseAnswers(t *testing.T) {
	tests := []struct {
		name          string
		respond       func(http.ResponseWriter, int)
		wantText      string
		wantReasoning string
		wantStop      string
		wantKind      string
	}{
		{"text", reply("end_turn", text(`{"extraction":{}}`)), `{"extraction":{}}`, "", "end_turn", ""},
		{"reasoning kept apart from text",
			reply("end_turn", reasoning(`maybe {"wrong":1}`), text(`{"extraction":{"a":1}}`)),
			`{"extraction":{"a":1}}`, `maybe {"wrong":1}`, "end_turn", ""},
		{"text in several blocks", reply("end_turn", text(`{"extraction":`), text(`{}}`)), `{"extraction":{}}`, "", "end_turn", ""},
		{"max_tokens surfaces as stop reason", reply("max_tokens", text(`{"extraction":{"a":`)),
			`{"extraction":{"a":`, "", "max_tokens", ""},
		{"reasoning only", reply("end_turn", reasoning("thinking about it")), "", "thinking about it", "end_turn", contract.ErrNameNoJSON},
		{"reasoning only, out of budget", reply("max_tokens", reasoning("thinking")), "", "thinking", "max_tokens", contract.ErrNameTruncated},
		{"blank text", reply("end_turn", text("  \n")), "  \n", "", "end_turn", contract.ErrNameNoJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newConverseServer(t, tt.respond)
			ans, err := srv.client(RuntimeOptions{}, Options{}).Converse(context.Background(), basicCall)
			if got := Kind(err); got != tt.wantKind {
				t.Fatalf("Kind(%v) = %q, want %q", err, got, tt.wantKind)
			}
			if tt.wantKind != "" && !errors.Is(err, ErrNoText) {
				t.Errorf("error %v is not ErrNoText", err)
			}
			if ans.Text != tt.wantText || ans.Reasoning != tt.wantReasoning || ans.StopReason != tt.wantStop {
				t.Errorf("answer = %+v, want text %q reasoning %q stop %q", ans, tt.wantText, tt.wantReasoning, tt.wantStop)
			}
			// Tokens are reported even for an unusable answer: they were billed.
			if ans.Usage != (contract.Tokens{Input: 1200, Output: 340}) || ans.ModelID != basicCall.ModelID {
				t.Errorf("usage %+v model %q", ans.Usage, ans.ModelID)
			}
			if srv.attempts() != 1 {
				t.Errorf("attempts = %d, want 1", srv.attempts())
			}
		})
	}
}

func TestConverseRetries(t *testing.T) {
	tests := []struct {
		name         string
		respond      func(http.ResponseWriter, int)
		maxAttempts  int
		wantAttempts int
		wantKind     string
		wantSDKError any
	}{
		// Throttling is a capacity signal for the controller, retried by the state
		// machine, never by the SDK (NewRuntime): one attempt however many are allowed.
		{"throttling surfaces at once as throttled", failing(429, "ThrottlingException"),
			4, 1, contract.ErrNameThrottled, new(*types.ThrottlingException)},
		{"TooManyRequests surfaces at once as throttled", failing(429, "TooManyRequestsException"),
			4, 1, contract.ErrNameThrottled, nil},
		{"500 retried until it succeeds", func(w http.ResponseWriter, n int) {
			if n < 3 {
				fail(w, 500, "InternalServerException")
				return
			}
			reply("end_turn", text("{}"))(w, n)
		}, 3, 3, "", nil},
		{"503 exhausts the attempts", failing(503, "ServiceUnavailableException"),
			3, 3, contract.ErrNameTransient, new(*types.ServiceUnavailableException)},
		{"model not ready retried", func(w http.ResponseWriter, n int) {
			if n == 1 {
				fail(w, 429, "ModelNotReadyException")
				return
			}
			reply("end_turn", text("{}"))(w, n)
		}, 3, 2, "", nil},
		{"validation not retried", failing(400, "ValidationException"),
			3, 1, contract.ErrNameInvalidRequest, new(*types.ValidationException)},
		{"model timeout not retried by the SDK", failing(408, "ModelTimeoutException"),
			3, 1, contract.ErrNameTransient, new(*types.ModelTimeoutException)},
		{"model error not retried", failing(424, "ModelErrorException"),
			3, 1, contract.ErrNameModel, new(*types.ModelErrorException)},
		{"quota exceeded is throttled", failing(400, "ServiceQuotaExceededException"),
			3, 1, contract.ErrNameThrottled, new(*types.ServiceQuotaExceededException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newConverseServer(t, tt.respond)
			ans, err := srv.client(RuntimeOptions{MaxAttempts: tt.maxAttempts}, Options{}).
				Converse(context.Background(), basicCall)
			if got := Kind(err); got != tt.wantKind {
				t.Fatalf("Kind(%v) = %q, want %q", err, got, tt.wantKind)
			}
			if got := srv.attempts(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			// Every attempt is counted, each throttled one too (not once per call).
			wantThrottled := 0
			if tt.wantKind == contract.ErrNameThrottled {
				wantThrottled = tt.wantAttempts
			}
			if ans.Attempts != (Attempts{Total: tt.wantAttempts, Throttled: wantThrottled}) {
				t.Errorf("Answer.Attempts = %+v, want %d attempts, %d throttled", ans.Attempts, tt.wantAttempts, wantThrottled)
			}
			if tt.wantSDKError != nil && !errors.As(err, tt.wantSDKError) {
				t.Errorf("errors.As(%v, %T) = false", err, tt.wantSDKError)
			}
		})
	}
}

// A generation that outlives the read timeout fails once, as transient, and is not
// resent by the SDK: a second long call would only double the cost.
func TestConverseReadTimeoutNotRetried(t *testing.T) {
	release := make(chan struct{})
	srv := newConverseServer(t, func(w http.ResponseWriter, _ int) { <-release })
	defer close(release) // runs before the server's Cleanup closes it
	c := srv.client(RuntimeOptions{ReadTimeout: 50 * time.Millisecond, MaxAttempts: 3}, Options{})
	_, err := c.Converse(context.Background(), basicCall)
	if got := Kind(err); got != contract.ErrNameTransient {
		t.Fatalf("Kind(%v) = %q, want %q", err, got, contract.ErrNameTransient)
	}
	if got := srv.attempts(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestConverseRequest(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"extraction":{"type":"object"}}}`)
	tests := []struct {
		name      string
		call      Call
		wantPath  string
		wantKeys  []string // request body keys that must be present
		wantNoKey []string // and those that must not
	}{
		{"gpt-oss with schema, tier and effort",
			Call{ModelID: "openai.gpt-oss-120b-1:0", System: "s", Messages: []Message{{"user", "u"}},
				MaxTokens: 2048, Temperature: 0.1, Schema: schema, ServiceTier: "flex", ReasoningEffort: "low"},
			"/model/openai.gpt-oss-120b-1%3A0/converse",
			[]string{"outputConfig", "serviceTier", "additionalModelRequestFields", "system", "inferenceConfig"}, nil},
		{"gemma ignores the schema",
			Call{ModelID: "google.gemma-3-27b-it", Messages: []Message{{"user", "u"}}, Schema: schema},
			"/model/google.gemma-3-27b-it/converse",
			[]string{"messages", "inferenceConfig"}, []string{"outputConfig", "additionalModelRequestFields", "system", "serviceTier"}},
		{"profile id keeps its capabilities; default tier sends nothing",
			Call{ModelID: "global.anthropic.claude-sonnet-4-5-20250929-v1:0", Messages: []Message{{"user", "u"}}, Schema: schema, ServiceTier: "default"},
			"/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
			[]string{"outputConfig"}, []string{"serviceTier", "additionalModelRequestFields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newConverseServer(t, reply("end_turn", text("{}")))
			if _, err := srv.client(RuntimeOptions{}, Options{}).Converse(context.Background(), tt.call); err != nil {
				t.Fatal(err)
			}
			if srv.paths[0] != tt.wantPath {
				t.Errorf("path = %s, want %s", srv.paths[0], tt.wantPath)
			}
			req := srv.lastRequest()
			for _, k := range tt.wantKeys {
				if _, ok := req[k]; !ok {
					t.Errorf("request lacks %q: %v", k, req)
				}
			}
			for _, k := range tt.wantNoKey {
				if _, ok := req[k]; ok {
					t.Errorf("request has %q: %v", k, req[k])
				}
			}
		})
	}
}

// The exact JSON of the model-specific parts, as Bedrock documents them.
func TestConverseRequestShapes(t *testing.T) {
	srv := newConverseServer(t, reply("end_turn", text("{}")))
	call := basicCall
	call.Temperature = 0.2
	call.Schema = json.RawMessage(`{"type":"object"}`)
	call.ServiceTier = "priority"
	call.ReasoningEffort = "high"
	if _, err := srv.client(RuntimeOptions{}, Options{}).Converse(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(srv.lastRequest())
	for _, want := range []string{
		`"additionalModelRequestFields":{"reasoning_effort":"high"}`,
		`"inferenceConfig":{"maxTokens":4096,"temperature":0.2`,
		`"outputConfig":{"textFormat":{"structure":{"jsonSchema":{"name":"answer","schema":"{\"type\":\"object\"}"}},"type":"json_schema"}}`,
		`"serviceTier":{"type":"priority"}`,
		`"system":[{"text":"ai-enrichment pass1 (extraction) prompt v1"}]`,
		`"messages":[{"content":[{"text":"\u003cjob_posting id=\"1\"\u003eGo engineer\u003c/job_posting\u003e"}],"role":"user"}]`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("request %s\nlacks %s", got, want)
		}
	}
}

func TestConverseRejectsInvalidCalls(t *testing.T) {
	tests := map[string]Call{
		"no model":       {Messages: []Message{{"user", "u"}}},
		"bad role":       {ModelID: "openai.gpt-oss-120b-1:0", Messages: []Message{{"robot", "u"}}},
		"bad tier":       {ModelID: "openai.gpt-oss-120b-1:0", Messages: []Message{{"user", "u"}}, ServiceTier: "gold"},
		"schema garbage": {ModelID: "openai.gpt-oss-120b-1:0", Messages: []Message{{"user", "u"}}, Schema: json.RawMessage(`{`)},
		// The model table says which models take a reasoning effort, and which values.
		"effort the model does not take": {ModelID: "google.gemma-3-27b-it", Messages: []Message{{"user", "u"}}, ReasoningEffort: "low"},
		"effort value not accepted":      {ModelID: "openai.gpt-oss-120b-1:0", Messages: []Message{{"user", "u"}}, ReasoningEffort: "extreme"},
		"effort for an unknown model":    {ModelID: "acme.unknown-model-v1:0", Messages: []Message{{"user", "u"}}, ReasoningEffort: "low"},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newConverseServer(t, reply("end_turn", text("{}")))
			_, err := srv.client(RuntimeOptions{}, Options{}).Converse(context.Background(), call)
			if Kind(err) != contract.ErrNameInvalidRequest || !errors.Is(err, ErrInvalidCall) {
				t.Fatalf("error = %v (kind %q), want ErrInvalidCall", err, Kind(err))
			}
			if srv.attempts() != 0 {
				t.Errorf("attempts = %d, want 0", srv.attempts())
			}
		})
	}
}

// Throttled calls open the model's breaker; the next call fails fast without a
// request, and another model is unaffected.
func TestConverseBreaker(t *testing.T) {
	srv := newConverseServer(t, func(w http.ResponseWriter, n int) {
		if n <= 2 {
			fail(w, 429, "ThrottlingException")
			return
		}
		reply("end_turn", text("{}"))(w, n)
	})
	c := srv.client(RuntimeOptions{MaxAttempts: 1}, Options{Breaker: BreakerSettings{Failures: 2, Cooldown: time.Hour}})
	for range 2 {
		if _, err := c.Converse(context.Background(), basicCall); Kind(err) != contract.ErrNameThrottled {
			t.Fatalf("error = %v, want throttled", err)
		}
	}
	if got := c.Breaker(basicCall.ModelID).State(); got != Open {
		t.Fatalf("breaker = %s, want open", got)
	}
	_, err := c.Converse(context.Background(), basicCall)
	if !errors.Is(err, ErrCircuitOpen) || Kind(err) != contract.ErrNameCircuitOpen {
		t.Fatalf("error = %v, want ErrCircuitOpen", err)
	}
	if srv.attempts() != 2 {
		t.Errorf("attempts = %d, want 2 (open breaker must not call)", srv.attempts())
	}
	other := basicCall
	other.ModelID = "google.gemma-3-27b-it"
	if _, err := c.Converse(context.Background(), other); err != nil {
		t.Fatalf("other model: %v", err)
	}
}

func TestBreakerDisabled(t *testing.T) {
	c := New(nil, Options{})
	if b := c.Breaker("openai.gpt-oss-120b-1:0"); b != nil {
		t.Fatalf("Breaker() = %v, want nil when Failures is 0", b)
	}
}

// BenchmarkConverse measures the client's own work per call (request building, SDK
// serialisation, signing, response parsing) against a local server.
func BenchmarkConverse(b *testing.B) {
	answer := `{"extraction":{"` + strings.Repeat("field", 400) + `":1}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		reply("end_turn", reasoning(strings.Repeat("why ", 500)), text(answer))(w, 0)
	}))
	defer srv.Close()
	c := (&converseServer{Server: srv}).client(RuntimeOptions{}, Options{Breaker: BreakerSettings{Failures: 5, Cooldown: time.Minute}})
	call := basicCall
	call.Messages = []Message{{Role: "user", Text: strings.Repeat("posting text ", 1000)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Converse(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

// A throttle after a retried 5xx ends the call: the 500 was retried, the throttle is
// not, and both attempts are counted, one of them throttled.
func TestConverseThrottleEndsARetriedCall(t *testing.T) {
	srv := newConverseServer(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			fail(w, 500, "InternalServerException")
			return
		}
		if n == 2 {
			fail(w, 429, "ThrottlingException")
			return
		}
		reply("end_turn", text("{}"))(w, n)
	})
	ans, err := srv.client(RuntimeOptions{MaxAttempts: 3}, Options{}).Converse(context.Background(), basicCall)
	if Kind(err) != contract.ErrNameThrottled {
		t.Fatalf("error = %v, want throttled", err)
	}
	if ans.Attempts != (Attempts{Total: 2, Throttled: 1}) || srv.attempts() != 2 {
		t.Fatalf("Attempts = %+v (server saw %d), want 2 attempts, 1 throttled", ans.Attempts, srv.attempts())
	}
}

// TestConverseHeld: during the controller's pause a call fails fast as circuit open
// and reaches no model; the pause is asked at the call, so when it is over the call
// goes out.
func TestConverseHeld(t *testing.T) {
	srv := newConverseServer(t, reply("end_turn", text("{}")))
	c := srv.client(RuntimeOptions{MaxAttempts: 1}, Options{})
	pause := 5 * time.Second
	ctx := Hold(context.Background(), func() time.Duration { return pause })
	if _, err := c.Converse(ctx, basicCall); !errors.Is(err, ErrCircuitOpen) || Kind(err) != contract.ErrNameCircuitOpen {
		t.Fatalf("held call: %v, want circuit open", err)
	}
	if srv.attempts() != 0 {
		t.Fatalf("a held call reached the model (%d requests)", srv.attempts())
	}
	pause = 0
	if _, err := c.Converse(ctx, basicCall); err != nil || srv.attempts() != 1 {
		t.Fatalf("after the pause: %v, %d requests", err, srv.attempts())
	}
}
