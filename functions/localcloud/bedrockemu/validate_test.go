package bedrockemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
)

// request is a valid pass1 Converse body; each case edits one part.
func request() map[string]any {
	return map[string]any{
		"system": []any{map[string]any{"text": "ai-enrichment pass1 (extraction) prompt v1"}},
		"messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"text": `<job_posting id="7">Data engineer, Berlin.</job_posting>`}}}},
		"inferenceConfig": map[string]any{"maxTokens": 4000},
	}
}

func withSchema(schema string) func(map[string]any) {
	return func(r map[string]any) {
		r["outputConfig"] = map[string]any{"textFormat": map[string]any{"type": "json_schema",
			"structure": map[string]any{"jsonSchema": map[string]any{"name": "answer", "schema": schema}}}}
	}
}

// post sends a raw Converse body (so the cases can hold what the SDK would not build)
// and returns the status, error type and message.
func post(t *testing.T, srv *httptest.Server, modelID string, body map[string]any) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(srv.URL+"/model/"+url.PathEscape(modelID)+"/converse", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var msg struct{ Message string }
	_ = json.Unmarshal(raw, &msg)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), msg.Message
}

const okSchema = `{"type":"object","additionalProperties":false,"required":["extraction"],"properties":{
	"extraction":{"type":"object","additionalProperties":false,"required":["level","skills","years","when"],"properties":{
		"level":{"type":["string","null"],"enum":["junior","senior",null]},
		"skills":{"type":"array","minItems":1,"items":{"type":"string"}},
		"years":{"anyOf":[{"type":"integer"},{"type":"null"}]},
		"when":{"$ref":"#/$defs/date"}}}},
	"$defs":{"date":{"type":"string","format":"date"}}}`

// schemaWith puts one property schema into an otherwise valid answer schema.
func schemaWith(prop string) string {
	return `{"type":"object","additionalProperties":false,"required":["x"],"properties":{"x":` + prop + `}}`
}

func TestBedrockValidation(t *testing.T) {
	const oss = "openai.gpt-oss-120b-1:0"
	tests := []struct {
		name    string
		model   string
		edit    func(map[string]any)
		wantMsg string // "" means accepted
	}{
		{"valid pass request", oss, nil, ""},
		{"inference profile ARN", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + oss, nil, ""},
		{"unknown model", "acme.unknown-model-v1:0", nil, "The provided model identifier is invalid."},
		{"maxTokens at the model limit", oss, func(r map[string]any) { r["inferenceConfig"] = map[string]any{"maxTokens": 16384} }, ""},
		{"maxTokens above the model limit", oss, func(r map[string]any) { r["inferenceConfig"] = map[string]any{"maxTokens": 16385} },
			"The maximum tokens you requested exceeds the model limit of 16384. Try again with a maximum tokens value that is lower than 16384."},
		{"maxTokens zero", oss, func(r map[string]any) { r["inferenceConfig"] = map[string]any{"maxTokens": 0} }, "at 'inferenceConfig.maxTokens' failed to satisfy constraint"},
		{"temperature above 1", oss, func(r map[string]any) { r["inferenceConfig"] = map[string]any{"maxTokens": 100, "temperature": 1.5} },
			"at 'inferenceConfig.temperature' failed to satisfy constraint"},
		{"flex where offered", oss, func(r map[string]any) { r["serviceTier"] = map[string]any{"type": "flex"} }, ""},
		{"flex where not offered", "google.gemma-3-27b-it", func(r map[string]any) { r["serviceTier"] = map[string]any{"type": "flex"} }, "The service tier flex is not supported"},
		{"unknown tier", oss, func(r map[string]any) { r["serviceTier"] = map[string]any{"type": "gold"} }, "Member must satisfy enum value set: [priority, default, flex, reserved]"},
		{"reasoning effort accepted", oss, func(r map[string]any) { r["additionalModelRequestFields"] = map[string]any{"reasoning_effort": "low"} }, ""},
		{"reasoning effort value refused", oss, func(r map[string]any) {
			r["additionalModelRequestFields"] = map[string]any{"reasoning_effort": "extreme"}
		},
			"reasoning_effort must be one of low, medium, high"},
		{"reasoning effort on a model without one", "google.gemma-3-27b-it", func(r map[string]any) {
			r["additionalModelRequestFields"] = map[string]any{"reasoning_effort": "low"}
		}, "reasoning_effort: Extra inputs are not permitted"},
		{"first message from the assistant", oss, func(r map[string]any) {
			r["messages"] = []any{map[string]any{"role": "assistant", "content": []any{map[string]any{"text": "hi"}}}}
		}, "A conversation must start with a user message."},
		{"no messages", oss, func(r map[string]any) { r["messages"] = []any{} }, "A conversation must start with a user message."},
		{"two user turns in a row", oss, func(r map[string]any) {
			r["messages"] = append(r["messages"].([]any), map[string]any{"role": "user", "content": []any{map[string]any{"text": "again"}}})
		}, "A conversation must alternate between user and assistant roles."},
		{"unknown role", oss, func(r map[string]any) {
			r["messages"] = append(r["messages"].([]any), map[string]any{"role": "system", "content": []any{map[string]any{"text": "x"}}})
		}, "Value 'system' at 'messages.2.member.role' failed to satisfy constraint"},
		{"empty content", oss, func(r map[string]any) { r["messages"] = []any{map[string]any{"role": "user", "content": []any{}}} },
			"The content field in the Message object at messages.0 is empty."},
		{"blank text", oss, func(r map[string]any) {
			r["messages"] = append(r["messages"].([]any),
				map[string]any{"role": "assistant", "content": []any{map[string]any{"text": "  "}}},
				map[string]any{"role": "user", "content": []any{map[string]any{"text": "go on"}}})
		}, "The text field in the ContentBlock object at messages.1.content.0 is blank."},
		{"supported schema", oss, withSchema(okSchema), ""},
		{"schema to a model without structured output", "google.gemma-3-27b-it", withSchema(okSchema), "does not support structured outputs"},
		{"schema not JSON", oss, withSchema(`{"type":`), "is invalid. Provide a json object"},
		{"minimum", oss, withSchema(schemaWith(`{"type":"number","minimum":0}`)), "minimum at $.properties.x"},
		{"maximum", oss, withSchema(schemaWith(`{"type":"integer","maximum":10}`)), "maximum at $.properties.x"},
		{"exclusiveMinimum", oss, withSchema(schemaWith(`{"type":"number","exclusiveMinimum":0}`)), "exclusiveMinimum at"},
		{"multipleOf", oss, withSchema(schemaWith(`{"type":"number","multipleOf":5}`)), "multipleOf at"},
		{"minLength", oss, withSchema(schemaWith(`{"type":"string","minLength":1}`)), "minLength at"},
		{"maxLength", oss, withSchema(schemaWith(`{"type":"string","maxLength":9}`)), "maxLength at"},
		{"pattern", oss, withSchema(schemaWith(`{"type":"string","pattern":"^[A-Z]{3}$"}`)), "pattern at"},
		{"maxItems", oss, withSchema(schemaWith(`{"type":"array","items":{"type":"string"},"maxItems":3}`)), "maxItems at"},
		{"minItems 2", oss, withSchema(schemaWith(`{"type":"array","items":{"type":"string"},"minItems":2}`)), "minItems 2 (only 0 or 1)"},
		{"object without additionalProperties", oss, withSchema(schemaWith(`{"type":"object","properties":{}}`)), "additionalProperties not false at $.properties.x"},
		{"additionalProperties true", oss, withSchema(`{"type":"object","additionalProperties":true,"properties":{}}`), "additionalProperties not false at $"},
		{"unsupported format", oss, withSchema(schemaWith(`{"type":"string","format":"iri"}`)), `format "iri"`},
		{"object in an enum", oss, withSchema(schemaWith(`{"enum":[{"a":1}]}`)), "non-primitive enum value"},
		{"external $ref", oss, withSchema(schemaWith(`{"$ref":"https://example.com/s.json"}`)), "external $ref"},
		{"recursive $ref", oss, withSchema(`{"type":"object","additionalProperties":false,"properties":{"n":{"$ref":"#/$defs/node"}},
			"$defs":{"node":{"type":"object","additionalProperties":false,"properties":{"next":{"$ref":"#/$defs/node"}}}}}`), "recursive $ref"},
		{"conditional keywords", oss, withSchema(schemaWith(`{"type":"string","if":{"const":"a"},"then":{"const":"a"}}`)), "if at $.properties.x"},
	}
	emu := bedrockemu.New(bedrockemu.Options{Offline: offline})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := request()
			if tt.edit != nil {
				tt.edit(body)
			}
			status, errType, msg := post(t, srv, tt.model, body)
			if tt.wantMsg == "" {
				if status != http.StatusOK {
					t.Fatalf("refused (%d %s): %s", status, errType, msg)
				}
				return
			}
			if status != http.StatusBadRequest || errType != "ValidationException" || !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("got %d %s %q, want 400 ValidationException containing %q", status, errType, msg, tt.wantMsg)
			}
		})
	}
	// Refused requests are logged with Bedrock's reason and never reach the model.
	for _, c := range emu.Calls() {
		if c.Outcome == string(bedrockemu.Invalid) && (c.Reason == "" || c.Source != "" || c.OutputTokens != 0) {
			t.Errorf("refused call logged as %+v", c)
		}
	}
}

// The schemas we send must stay inside the subset: SchemaProblems is the check the
// emulator applies, usable on its own.
func TestSchemaProblems(t *testing.T) {
	var ok map[string]any
	if err := json.Unmarshal([]byte(okSchema), &ok); err != nil {
		t.Fatal(err)
	}
	if p := bedrockemu.SchemaProblems(ok); p != nil {
		t.Fatalf("supported schema reported %v", p)
	}
	var bad map[string]any
	_ = json.Unmarshal([]byte(schemaWith(`{"type":"number","minimum":0,"maximum":1}`)), &bad)
	if p := bedrockemu.SchemaProblems(bad); len(p) != 2 {
		t.Fatalf("problems %v, want minimum and maximum", p)
	}
}
