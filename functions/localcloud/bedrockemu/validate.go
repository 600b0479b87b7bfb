package bedrockemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/llm"
)

// The checks Bedrock makes before a request reaches the model, each answered with a
// 400 ValidationException. The per-model facts (known ids, output limit, tiers,
// reasoning effort, structured output) come from llm's model table, the table the
// client shapes its requests from. Sources and the wording's provenance are in
// docs/local-cloud.md ("Bedrock validation").

// validationError is a request Bedrock refuses; its text is the message Bedrock sends.
type validationError string

func (e validationError) Error() string { return string(e) }

func invalidf(format string, a ...any) error { return validationError(fmt.Sprintf(format, a...)) }

// validate checks a Converse request for modelID as Bedrock does.
func validate(modelID string, req converseRequest) error {
	m, ok := llm.Lookup(modelID)
	if !ok {
		return validationError("The provided model identifier is invalid.")
	}
	if err := validateMessages(req.Messages); err != nil {
		return err
	}
	if n := req.InferenceConfig.maxTokens(); req.InferenceConfig.MaxTokens != nil && n < 1 {
		return invalidf("Value '%d' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
	} else if m.MaxOutputTokens > 0 && n > m.MaxOutputTokens {
		return invalidf("The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", m.MaxOutputTokens, m.MaxOutputTokens)
	}
	if t := req.InferenceConfig.Temperature; t != nil && (*t < 0 || *t > 1) {
		return invalidf("Value '%v' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value between 0 and 1", *t)
	}
	if t := req.ServiceTier; t != nil {
		if !slices.Contains([]string{"priority", "default", "flex", "reserved"}, t.Type) {
			return invalidf("Value '%s' at 'serviceTier.type' failed to satisfy constraint: Member must satisfy enum value set: [priority, default, flex, reserved]", t.Type)
		}
		if !m.OffersTier(t.Type) {
			return invalidf("The service tier %s is not supported for model %s.", t.Type, modelID)
		}
	}
	if err := validateReasoning(m, req.AdditionalModelRequestFields); err != nil {
		return err
	}
	if req.OutputConfig != nil {
		if !m.StructuredOutput {
			return invalidf("The model %s does not support structured outputs (outputConfig.textFormat).", modelID)
		}
		return validateOutputConfig(req.OutputConfig)
	}
	return nil
}

func validateMessages(msgs []message) error {
	if len(msgs) == 0 || msgs[0].Role != "user" {
		return validationError("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	for i, msg := range msgs {
		if msg.Role != "user" && msg.Role != "assistant" {
			return invalidf("Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", msg.Role, i+1)
		}
		if i > 0 && msg.Role == msgs[i-1].Role {
			return validationError("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
		}
		if len(msg.Content) == 0 {
			return invalidf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, b := range msg.Content {
			if b.Text != nil && strings.TrimSpace(*b.Text) == "" {
				return invalidf("The text field in the ContentBlock object at messages.%d.content.%d is blank. Add text to the text field, and try again.", i, j)
			}
		}
	}
	return nil
}

// validateReasoning checks the reasoning-effort field: the model passes unknown
// additional fields to the model, which refuses them.
func validateReasoning(m llm.Model, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return validationError("The format of the value at additionalModelRequestFields is invalid. Provide a json object for the field and try again.")
	}
	for key, v := range fields {
		if key != "reasoning_effort" && key != m.ReasoningEffortField {
			continue
		}
		if m.ReasoningEffortField == "" {
			return invalidf("The model returned the following errors: %s: Extra inputs are not permitted", key)
		}
		if s, ok := v.(string); !ok || !m.AcceptsReasoningEffort(s) {
			return invalidf("The model returned the following errors: %s must be one of %s, got %v", key, strings.Join(m.ReasoningEfforts, ", "), v)
		}
	}
	return nil
}

func validateOutputConfig(oc *outputConfig) error {
	const at = "outputConfig.textFormat.structure.jsonSchema.schema"
	if oc.TextFormat == nil || oc.TextFormat.Type != "json_schema" || oc.TextFormat.Structure.JSONSchema == nil {
		return validationError("The value at outputConfig.textFormat is invalid: type must be json_schema with a structure.jsonSchema.")
	}
	var schema any
	if err := json.Unmarshal([]byte(oc.TextFormat.Structure.JSONSchema.Schema), &schema); err != nil {
		return invalidf("The format of the value at %s is invalid. Provide a json object for the field and try again.", at)
	}
	root, ok := schema.(map[string]any)
	if !ok {
		return invalidf("The format of the value at %s is invalid. Provide a json object for the field and try again.", at)
	}
	if problems := SchemaProblems(root); len(problems) > 0 {
		return invalidf("The JSON schema at %s uses features structured outputs do not support: %s.", at, strings.Join(problems, "; "))
	}
	return nil
}

// Keywords outside the supported JSON Schema subset of structured outputs: numeric
// and string constraints, array constraints other than minItems 0 or 1, and the
// conditional and dynamic keywords. See docs/local-cloud.md for the source of each.
var unsupportedKeywords = []string{
	"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
	"minLength", "maxLength", "pattern", "patternProperties",
	"maxItems", "uniqueItems", "contains", "minContains", "maxContains",
	"minProperties", "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas",
	"if", "then", "else", "not", "unevaluatedProperties", "unevaluatedItems",
	"$dynamicRef", "$dynamicAnchor", "$recursiveRef",
}

// supportedFormats are the string formats structured outputs accept.
var supportedFormats = []string{"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}

// SchemaProblems lists, as "keyword at path", every feature of a JSON schema that
// structured outputs reject; nil means Bedrock accepts it.
func SchemaProblems(root map[string]any) []string {
	w := schemaWalk{root: root, visiting: map[string]bool{}}
	w.node(root, "$")
	return w.problems
}

type schemaWalk struct {
	root     map[string]any
	visiting map[string]bool // $refs being expanded, to find recursion
	problems []string
}

func (w *schemaWalk) add(format string, a ...any) {
	w.problems = append(w.problems, fmt.Sprintf(format, a...))
}

func (w *schemaWalk) node(v any, path string) {
	s, ok := v.(map[string]any)
	if !ok {
		if _, isBool := v.(bool); !isBool {
			w.add("a schema that is not an object at %s", path)
		}
		return
	}
	for _, k := range unsupportedKeywords {
		if _, ok := s[k]; ok {
			w.add("%s at %s", k, path)
		}
	}
	if f, ok := s["format"].(string); ok && !slices.Contains(supportedFormats, f) {
		w.add("format %q at %s", f, path)
	}
	if n, ok := s["minItems"].(float64); ok && n != 0 && n != 1 {
		w.add("minItems %v (only 0 or 1) at %s", n, path)
	}
	if hasType(s, "object") {
		if ap, ok := s["additionalProperties"]; !ok || ap != false {
			w.add("additionalProperties not false at %s", path)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		for _, v := range e {
			switch v.(type) {
			case map[string]any, []any:
				w.add("a non-primitive enum value at %s", path)
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		w.ref(ref, path)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, k := range sortedKeys(props) {
			w.node(props[k], path+".properties."+k)
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if sub, ok := s[k].(map[string]any); ok {
			w.node(sub, path+"."+k)
		}
	}
	for _, k := range []string{"anyOf", "allOf", "oneOf", "prefixItems"} {
		if list, ok := s[k].([]any); ok {
			for i, sub := range list {
				w.node(sub, fmt.Sprintf("%s.%s[%d]", path, k, i))
			}
		}
	}
}

// ref follows a local $ref; external references and recursion are unsupported.
func (w *schemaWalk) ref(ref, path string) {
	if !strings.HasPrefix(ref, "#") {
		w.add("external $ref %q at %s", ref, path)
		return
	}
	if w.visiting[ref] {
		w.add("recursive $ref %q at %s", ref, path)
		return
	}
	var target any = w.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
		m, ok := target.(map[string]any)
		if !ok {
			target = nil
			break
		}
		target = m[part]
	}
	if target == nil {
		w.add("unresolvable $ref %q at %s", ref, path)
		return
	}
	w.visiting[ref] = true
	w.node(target, path+"->"+ref)
	delete(w.visiting, ref)
}

func hasType(s map[string]any, t string) bool {
	switch v := s["type"].(type) {
	case string:
		return v == t
	case []any:
		return slices.Contains(v, any(t))
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
