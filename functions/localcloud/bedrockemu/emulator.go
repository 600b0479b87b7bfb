// Package bedrockemu emulates the Bedrock Converse REST API for local runs and tests:
// it replays recorded answers or asks an offline deterministic model, and injects the
// faults real Bedrock produces (latency, quotas, 5xx, truncation, reasoning-only).
package bedrockemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
)

// Where an answer came from; every response carries it in
// additionalModelResponseFields.emulator.
const (
	SourceReplay  = "replay"
	SourceOffline = "offline"
)

// ReplayKey names a recorded answer.
type ReplayKey struct {
	Job   string
	Pass  contract.Pass
	Model string // model id; an inference-profile prefix is ignored
}

// Options configure an Emulator. With no replay answer for a call the offline model
// answers; with neither, the call fails with a ValidationException.
type Options struct {
	// ReplayDir holds {job}/{pass}-{model}-raw.txt, model being the id without profile
	// prefix and with '.' and ':' as '-' (the layout of the shared model-responses fixtures).
	ReplayDir string
	Replay    map[ReplayKey]string
	// Offline is the deterministic model (localcloud/offline.Answer).
	Offline func(pass contract.Pass, user string) string
	// Now is the clock of the quota window (default time.Now).
	Now func() time.Time
}

// Call is one Converse request as the emulator saw it.
type Call struct {
	At        time.Time
	Model     string
	Pass      contract.Pass
	Job       string
	MaxTokens int
	Outcome   string // "ok", "max_tokens" (budget too small), "canceled" or a fault Kind
	Reason    string // the ValidationException message of a request Bedrock would refuse
	// StructuredOutput: the request carried outputConfig (a JSON schema).
	StructuredOutput bool
	Source           string // SourceReplay or SourceOffline; empty when failed before answering
	InputTokens      int
	OutputTokens     int
}

// Emulator is an http.Handler for POST /model/{modelId}/converse. It is safe for
// concurrent use; faults can change between calls.
type Emulator struct {
	opts   Options
	replay map[string]string

	mu        sync.Mutex
	faults    Faults
	ruleCalls []int
	rng       *rand.Rand
	quota     window
	calls     []Call
}

// New returns an emulator without faults.
func New(opts Options) *Emulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Emulator{opts: opts, replay: map[string]string{}}
	for k, v := range opts.Replay {
		e.replay[replayName(k.Job, k.Pass, k.Model)] = v
	}
	e.SetFaults(Faults{})
	return e
}

// SetFaults replaces the fault configuration and restarts its rule counters, random
// sequence and quota window.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.ruleCalls = make([]int, len(f.Rules))
	e.rng = rand.New(rand.NewPCG(f.Seed, f.Seed))
	e.quota = window{}
}

// SetQuota changes the requests- and tokens-per-minute quotas and keeps everything
// else, the calls already in the sliding window included: a capacity change in the
// middle of a run (the simulation's hidden-capacity scenario).
func (e *Emulator) SetQuota(rpm, tpm int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.RequestsPerMinute, e.faults.TokensPerMinute = rpm, tpm
}

// Reset clears the call log and the faults.
func (e *Emulator) Reset() {
	e.SetFaults(Faults{})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = nil
}

// Calls returns a copy of the call log.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// Count is the number of calls received for a job and pass, whatever their outcome.
func (e *Emulator) Count(job string, pass contract.Pass) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.calls {
		if c.Job == job && c.Pass == pass {
			n++
		}
	}
	return n
}

var (
	passLine = regexp.MustCompile(`^ai-enrichment (pass[1-3]) \(`)
	jobTag   = regexp.MustCompile(`<job_posting id="([0-9]{1,20})">`)
)

// ServeHTTP answers one Converse call.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	model, err := modelID(r.URL.EscapedPath())
	if err != nil {
		writeError(w, Invalid, err.Error())
		return
	}
	var req converseRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, Invalid, "malformed request body: "+err.Error())
		return
	}
	system, user := texts(req.System), userText(req.Messages)
	m := passLine.FindStringSubmatch(system)
	j := jobTag.FindStringSubmatch(user)
	call := Call{Model: model, MaxTokens: req.InferenceConfig.maxTokens(), StructuredOutput: req.OutputConfig != nil, InputTokens: tokens(system) + tokens(user)}
	if m != nil && j != nil {
		call.Pass, call.Job = contract.Pass(m[1]), j[1]
	}
	// Bedrock validates the request before the model sees it.
	if err := validate(model, req); err != nil {
		call.Outcome, call.Reason = string(Invalid), err.Error()
		e.record(call)
		writeError(w, Invalid, err.Error())
		return
	}
	if m == nil || j == nil {
		writeError(w, Invalid, "emulator: the system prompt must start with `ai-enrichment <pass> (` and the user message hold <job_posting id=\"digits\">")
		return
	}

	answer, source, err := e.answer(call.Job, call.Pass, model, user)
	if err != nil {
		call.Outcome = string(Invalid)
		e.record(call)
		writeError(w, Invalid, err.Error())
		return
	}
	call.Source = source
	call.OutputTokens = tokens(answer)
	if call.MaxTokens > 0 {
		call.OutputTokens = min(call.OutputTokens, call.MaxTokens) // what the quota is charged
	}
	kind := e.decide(call)
	if se, ok := serviceError[kind]; ok {
		call.Outcome, call.Source, call.OutputTokens = string(kind), "", 0
		e.record(call)
		writeError(w, kind, fmt.Sprintf("emulated %s for job %s %s", se.name, call.Job, call.Pass))
		return
	}
	// Only admitted calls take the model's time: rejections are fast, as in Bedrock.
	select {
	case <-time.After(e.latency()):
	case <-r.Context().Done():
		call.Outcome = "canceled"
		e.record(call)
		return
	}

	content, stopReason, outcome, out := reply(kind, call.Pass, answer, call.MaxTokens)
	call.Outcome, call.OutputTokens = outcome, tokens(out)
	resp := converseResponse{StopReason: stopReason, ServiceTier: req.ServiceTier}
	resp.Output.Message = message{Role: "assistant", Content: content}
	resp.AdditionalModelResponseFields = map[string]string{llm.EmulatorField: source}
	resp.Usage.InputTokens, resp.Usage.OutputTokens = call.InputTokens, call.OutputTokens
	resp.Usage.TotalTokens = call.InputTokens + call.OutputTokens
	resp.Metrics.LatencyMs = time.Since(start).Milliseconds()
	e.record(call)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// reply shapes an admitted answer: cut by a Truncate rule or a too small budget, or
// left in a reasoning block only. out is the text the model "generated".
func reply(kind Kind, pass contract.Pass, answer string, maxTokens int) (content []contentBlock, stopReason, outcome, out string) {
	stopReason, outcome = "end_turn", "ok"
	switch {
	case kind == Truncate:
		answer, stopReason, outcome = cut(answer, len(answer)/2), "max_tokens", string(Truncate)
	case maxTokens > 0 && tokens(answer) > maxTokens:
		answer, stopReason, outcome = cut(answer, maxTokens*4), "max_tokens", "max_tokens"
	}
	if kind == ReasoningOnly {
		// A thinking model can spend its turn drafting the whole answer in its reasoning
		// and never give it: a parser must not take that draft for the answer.
		thought := "The posting asks for the " + pass.Section() + " object. Draft:\n" + answer
		return []contentBlock{{ReasoningContent: &reasoningContent{ReasoningText: reasoningText{Text: thought}}}}, stopReason, string(ReasoningOnly), thought
	}
	return []contentBlock{text(answer)}, stopReason, outcome, answer
}

func (e *Emulator) latency() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults.Latency
}

// decide picks the call's fault: a matching rule, else the quota, else the error rate.
func (e *Emulator) decide(c Call) Kind {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, rule := range e.faults.Rules {
		if !rule.matches(c.Job, c.Pass) {
			continue
		}
		if rule.First == 0 || e.ruleCalls[i] < rule.First {
			e.ruleCalls[i]++
			return rule.Kind
		}
	}
	if !e.quota.admit(e.opts.Now(), c.InputTokens+c.OutputTokens, e.faults.RequestsPerMinute, e.faults.TokensPerMinute) {
		return Throttle
	}
	if e.faults.ErrorRate > 0 && e.rng.Float64() < e.faults.ErrorRate {
		return Unavailable
	}
	return ""
}

func (e *Emulator) record(c Call) {
	c.At = e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, c)
}

// answer finds the model's text: a replayed answer, else the offline model's.
func (e *Emulator) answer(job string, pass contract.Pass, model, user string) (text, source string, err error) {
	name := replayName(job, pass, llm.ModelID(model)) // an ARN names the same recorded answers
	if a, ok := e.replay[name]; ok {
		return a, SourceReplay, nil
	}
	if e.opts.ReplayDir != "" {
		b, err := os.ReadFile(filepath.Join(e.opts.ReplayDir, name))
		if err == nil {
			return string(b), SourceReplay, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("read replay answer: %w", err)
		}
	}
	if e.opts.Offline != nil {
		return e.opts.Offline(pass, user), SourceOffline, nil
	}
	return "", "", fmt.Errorf("emulator: no replay answer for job %s %s model %s and no offline model", job, pass, model)
}

// replayName is the path of a recorded answer relative to ReplayDir.
func replayName(job string, pass contract.Pass, model string) string {
	m := strings.NewReplacer(".", "-", ":", "-").Replace(contract.StripProfilePrefix(model))
	return job + "/" + string(pass) + "-" + m + "-raw.txt"
}

// modelID takes the model id (or escaped ARN) out of /model/{modelId}/converse.
func modelID(escapedPath string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("unexpected path %q", escapedPath)
	}
	id, err := url.PathUnescape(parts[1])
	if err != nil {
		return "", fmt.Errorf("model id in %q: %w", escapedPath, err)
	}
	return id, nil
}

func userText(msgs []message) string {
	var parts []string
	for _, m := range msgs {
		if m.Role == "user" {
			parts = append(parts, texts(m.Content))
		}
	}
	return strings.Join(parts, "\n")
}

// tokens estimates a token count the way the emulator charges it: 4 bytes a token.
func tokens(s string) int { return (len(s) + 3) / 4 }

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func writeError(w http.ResponseWriter, k Kind, msg string) {
	se := serviceError[k]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", se.name)
	w.WriteHeader(se.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
