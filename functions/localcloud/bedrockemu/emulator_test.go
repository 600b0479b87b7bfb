package bedrockemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
)

const model = "openai.gpt-oss-120b-1:0"

// offline stands in for localcloud/offline.Answer: a deterministic answer per pass and job.
func offline(pass contract.Pass, user string) string {
	return fmt.Sprintf(`{"%s": {"posting_chars": %d, "note": "offline answer, long enough to be cut"}}`, pass.Section(), len(user))
}

// clock is a settable clock for the quota window.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setup serves an emulator and returns a real SDK client for it, without retries so
// every fault reaches the test.
func setup(t *testing.T, opts bedrockemu.Options) (*bedrockemu.Emulator, *bedrockruntime.Client) {
	t.Helper()
	emu := bedrockemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
	return emu, client
}

// converse sends a pass request; on the flex tier where the model offers it, so the
// echo of the tier is checked.
func converse(ctx context.Context, c *bedrockruntime.Client, modelID string, pass contract.Pass, job string, maxTokens int32) (*bedrockruntime.ConverseOutput, error) {
	var tier *types.ServiceTier
	if m, _ := llm.Lookup(modelID); m.OffersTier(llm.TierFlex) {
		tier = &types.ServiceTier{Type: types.ServiceTierTypeFlex}
	}
	return c.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(modelID),
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{
			Value: fmt.Sprintf("ai-enrichment %s (%s) prompt v1\nAnswer with JSON only.", pass, pass.Section()),
		}},
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: `<job_posting id="` + job + `">Data engineer, Berlin.</job_posting>`}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens), Temperature: aws.Float32(0)},
		ServiceTier:     tier,
	})
}

func answerText(t *testing.T, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		t.Fatalf("output is %T, want a message", out.Output)
	}
	var b strings.Builder
	for _, c := range msg.Value.Content {
		if tb, ok := c.(*types.ContentBlockMemberText); ok {
			b.WriteString(tb.Value)
		}
	}
	return b.String()
}

func source(t *testing.T, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	var fields map[string]string
	if err := out.AdditionalModelResponseFields.UnmarshalSmithyDocument(&fields); err != nil {
		t.Fatalf("additionalModelResponseFields: %v", err)
	}
	return fields["emulator"]
}

func TestAnswerSources(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		opts       bedrockemu.Options
		model, job string
		wantSource string
		wantText   string
	}{
		{"offline", bedrockemu.Options{Offline: offline}, model, "42", bedrockemu.SourceOffline, `"extraction"`},
		{"replay from a map", bedrockemu.Options{Offline: offline, Replay: map[bedrockemu.ReplayKey]string{{Job: "42", Pass: contract.Pass1, Model: model}: `{"extraction":{"from":"map"}}`}}, "us." + model, "42", bedrockemu.SourceReplay, `"from":"map"`},
		{"replay from a directory", bedrockemu.Options{ReplayDir: "testdata/replay"}, model, "4201877691", bedrockemu.SourceReplay, `"replayed": true`},
		{"replay by inference-profile ARN", bedrockemu.Options{ReplayDir: "testdata/replay"}, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + model, "4201877691", bedrockemu.SourceReplay, `"replayed": true`},
		{"replay miss falls back to offline", bedrockemu.Options{ReplayDir: "testdata/replay", Offline: offline}, model, "7", bedrockemu.SourceOffline, `"extraction"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, client := setup(t, tt.opts)
			out, err := converse(ctx, client, tt.model, contract.Pass1, tt.job, 4000)
			if err != nil {
				t.Fatal(err)
			}
			if got := source(t, out); got != tt.wantSource {
				t.Errorf("source %q, want %q", got, tt.wantSource)
			}
			if got := answerText(t, out); !strings.Contains(got, tt.wantText) {
				t.Errorf("answer %q does not contain %q", got, tt.wantText)
			}
			if out.StopReason != types.StopReasonEndTurn || out.Usage == nil || *out.Usage.OutputTokens == 0 ||
				*out.Usage.TotalTokens != *out.Usage.InputTokens+*out.Usage.OutputTokens {
				t.Errorf("stopReason %s usage %+v", out.StopReason, out.Usage)
			}
			if out.ServiceTier == nil || out.ServiceTier.Type != types.ServiceTierTypeFlex {
				t.Errorf("service tier not echoed: %+v", out.ServiceTier)
			}
			calls := emu.Calls()
			if len(calls) != 1 || calls[0].Job != tt.job || calls[0].Pass != contract.Pass1 || calls[0].Outcome != "ok" || calls[0].Source != tt.wantSource || calls[0].MaxTokens != 4000 {
				t.Errorf("call log %+v", calls)
			}
		})
	}
}

// TestReplaySharedFixtures replays the recorded answers of real models when the shared
// fixtures sit next to the repository.
func TestReplaySharedFixtures(t *testing.T) {
	const dir = "../../../../shared/fixtures/model-responses"
	tests := []struct {
		job   string
		pass  contract.Pass
		model string
	}{
		{"4201877691", contract.Pass1, "openai.gpt-oss-120b-1:0"},
		{"4201877691", contract.Pass2, "us.mistral.mistral-large-3-675b-instruct"},
		{"4325749256", contract.Pass3, "google.gemma-3-27b-it"},
	}
	for _, tt := range tests {
		want, err := os.ReadFile(fmt.Sprintf("%s/%s/%s-%s-raw.txt", dir, tt.job, tt.pass, strings.NewReplacer(".", "-", ":", "-").Replace(contract.StripProfilePrefix(tt.model))))
		if err != nil {
			t.Skip("shared fixtures not present: ", err)
		}
		_, client := setup(t, bedrockemu.Options{ReplayDir: dir})
		out, err := converse(context.Background(), client, tt.model, tt.pass, tt.job, 8000) // under every model's limit
		if err != nil {
			t.Fatal(err)
		}
		if got := answerText(t, out); got != string(want) || source(t, out) != bedrockemu.SourceReplay {
			t.Fatalf("%s %s %s: replayed %d bytes from %s, want the %d-byte fixture", tt.job, tt.pass, tt.model, len(got), source(t, out), len(want))
		}
	}
}

func TestNoAnswerIsAValidationError(t *testing.T) {
	_, client := setup(t, bedrockemu.Options{})
	_, err := converse(context.Background(), client, model, contract.Pass2, "42", 100)
	if _, ok := errors.AsType[*types.ValidationException](err); !ok {
		t.Fatalf("got %v, want ValidationException", err)
	}
}

func TestUnconventionalPromptIsRejected(t *testing.T) {
	_, client := setup(t, bedrockemu.Options{Offline: offline})
	_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:  aws.String(model),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hello"}}}},
	})
	if _, ok := errors.AsType[*types.ValidationException](err); !ok {
		t.Fatalf("got %v, want ValidationException", err)
	}
}

func TestFaultRules(t *testing.T) {
	ctx := context.Background()
	isErr := func(check func(error) bool) func(*testing.T, *bedrockruntime.ConverseOutput, error) {
		return func(t *testing.T, _ *bedrockruntime.ConverseOutput, err error) {
			if !check(err) {
				t.Fatalf("got error %v", err)
			}
		}
	}
	tests := []struct {
		kind  bedrockemu.Kind
		check func(*testing.T, *bedrockruntime.ConverseOutput, error)
	}{
		{bedrockemu.Throttle, isErr(func(err error) bool { _, ok := errors.AsType[*types.ThrottlingException](err); return ok })},
		{bedrockemu.Unavailable, isErr(func(err error) bool { _, ok := errors.AsType[*types.ServiceUnavailableException](err); return ok })},
		{bedrockemu.InternalError, isErr(func(err error) bool { _, ok := errors.AsType[*types.InternalServerException](err); return ok })},
		{bedrockemu.ModelTimeout, isErr(func(err error) bool { _, ok := errors.AsType[*types.ModelTimeoutException](err); return ok })},
		{bedrockemu.Invalid, isErr(func(err error) bool { _, ok := errors.AsType[*types.ValidationException](err); return ok })},
		{bedrockemu.Truncate, func(t *testing.T, out *bedrockruntime.ConverseOutput, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if text := answerText(t, out); out.StopReason != types.StopReasonMaxTokens || text == "" || strings.HasSuffix(text, "}") {
				t.Fatalf("stopReason %s, text %q: want max_tokens and a cut answer", out.StopReason, text)
			}
		}},
		{bedrockemu.ReasoningOnly, func(t *testing.T, out *bedrockruntime.ConverseOutput, err error) {
			if err != nil {
				t.Fatal(err)
			}
			msg := out.Output.(*types.ConverseOutputMemberMessage).Value
			if len(msg.Content) != 1 {
				t.Fatalf("content %+v, want one reasoning block", msg.Content)
			}
			if _, ok := msg.Content[0].(*types.ContentBlockMemberReasoningContent); !ok {
				t.Fatalf("content is %T, want reasoning", msg.Content[0])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			emu, client := setup(t, bedrockemu.Options{Offline: offline})
			emu.SetFaults(bedrockemu.Faults{Rules: []bedrockemu.Rule{{Job: "1", Pass: contract.Pass2, First: 2, Kind: tt.kind}}})
			for range 2 {
				out, err := converse(ctx, client, model, contract.Pass2, "1", 4000)
				tt.check(t, out, err)
			}
			// The third call of the job and pass, and any other job, are healthy.
			for _, job := range []string{"1", "2"} {
				out, err := converse(ctx, client, model, contract.Pass2, job, 4000)
				if err != nil || out.StopReason != types.StopReasonEndTurn {
					t.Fatalf("job %s after the rule: %v", job, err)
				}
			}
			if n := emu.Count("1", contract.Pass2); n != 3 {
				t.Errorf("Count = %d, want 3", n)
			}
			if got := emu.Calls()[0].Outcome; got != string(tt.kind) {
				t.Errorf("outcome %q, want %q", got, tt.kind)
			}
		})
	}
}

func TestSmallBudgetTruncatesAndLargerSucceeds(t *testing.T) {
	ctx := context.Background()
	_, client := setup(t, bedrockemu.Options{Offline: offline})
	out, err := converse(ctx, client, model, contract.Pass3, "5", 5)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonMaxTokens || *out.Usage.OutputTokens != 5 || len(answerText(t, out)) > 20 {
		t.Fatalf("stopReason %s, %d tokens, text %q", out.StopReason, *out.Usage.OutputTokens, answerText(t, out))
	}
	out, err = converse(ctx, client, model, contract.Pass3, "5", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonEndTurn || !strings.HasSuffix(answerText(t, out), "}") {
		t.Fatalf("retry with a larger budget: stopReason %s text %q", out.StopReason, answerText(t, out))
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		faults bedrockemu.Faults
		admits int // calls admitted in one minute
	}{
		{"requests per minute", bedrockemu.Faults{RequestsPerMinute: 3}, 3},
		// Each call costs about 32 input and 22 output tokens.
		{"tokens per minute", bedrockemu.Faults{TokensPerMinute: 120}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			emu, client := setup(t, bedrockemu.Options{Offline: offline, Now: clk.Now})
			emu.SetFaults(tt.faults)
			for round := range 2 {
				for i := range tt.admits {
					if _, err := converse(ctx, client, model, contract.Pass1, "9", 1000); err != nil {
						t.Fatalf("round %d call %d: %v", round, i, err)
					}
				}
				_, err := converse(ctx, client, model, contract.Pass1, "9", 1000)
				if _, ok := errors.AsType[*types.ThrottlingException](err); !ok {
					t.Fatalf("round %d: call over the quota: %v, want ThrottlingException", round, err)
				}
				clk.Add(time.Minute + time.Second)
			}
		})
	}
}

func TestQuotaUnderConcurrency(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	emu, client := setup(t, bedrockemu.Options{Offline: offline, Now: clk.Now})
	emu.SetFaults(bedrockemu.Faults{RequestsPerMinute: 10, Latency: 5 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			_, err := converse(context.Background(), client, model, contract.Pass1, "8", 1000)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok, throttled := 0, 0
	for err := range errs {
		if err == nil {
			ok++
		} else if _, is := errors.AsType[*types.ThrottlingException](err); is {
			throttled++
		} else {
			t.Fatal(err)
		}
	}
	if ok != 10 || throttled != 30 || emu.Count("8", contract.Pass1) != 40 {
		t.Fatalf("%d admitted, %d throttled, %d logged; want 10, 30, 40", ok, throttled, emu.Count("8", contract.Pass1))
	}
}

func TestErrorRateIsSeeded(t *testing.T) {
	ctx := context.Background()
	emu, client := setup(t, bedrockemu.Options{Offline: offline})
	run := func() string {
		emu.SetFaults(bedrockemu.Faults{ErrorRate: 0.5, Seed: 7})
		var b strings.Builder
		for range 20 {
			_, err := converse(ctx, client, model, contract.Pass1, "3", 1000)
			if _, ok := errors.AsType[*types.ServiceUnavailableException](err); ok {
				b.WriteByte('x')
			} else if err != nil {
				t.Fatal(err)
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	first, second := run(), run()
	if first != second {
		t.Fatalf("same seed, different faults: %s vs %s", first, second)
	}
	if !strings.Contains(first, "x") || !strings.Contains(first, ".") {
		t.Fatalf("rate 0.5 gave %s", first)
	}
}

func TestLatency(t *testing.T) {
	emu, client := setup(t, bedrockemu.Options{Offline: offline})
	emu.SetFaults(bedrockemu.Faults{Latency: 30 * time.Millisecond})
	out, err := converse(context.Background(), client, model, contract.Pass1, "3", 1000)
	if err != nil {
		t.Fatal(err)
	}
	// A lower bound the emulator guarantees, not a timing measurement.
	if *out.Metrics.LatencyMs < 30 {
		t.Fatalf("latencyMs %d, want >= 30", *out.Metrics.LatencyMs)
	}
}

func TestResetClearsLog(t *testing.T) {
	emu, client := setup(t, bedrockemu.Options{Offline: offline})
	if _, err := converse(context.Background(), client, model, contract.Pass1, "3", 1000); err != nil {
		t.Fatal(err)
	}
	emu.Reset()
	if n := emu.Count("3", contract.Pass1); n != 0 {
		t.Fatalf("Count after Reset = %d", n)
	}
}

// BenchmarkConverse measures one offline Converse round trip with the SDK client.
func BenchmarkConverse(b *testing.B) {
	emu := bedrockemu.New(bedrockemu.Options{Offline: offline})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	client := bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Retryer: aws.NopRetryer{},
	})
	for b.Loop() {
		if _, err := converse(context.Background(), client, model, contract.Pass1, "1", 1000); err != nil {
			b.Fatal(err)
		}
	}
}
