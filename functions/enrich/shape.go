package enrich

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// resultType is the Go type of a pass's normalised document.
func resultType(pass contract.Pass) reflect.Type {
	return reflect.TypeOf(newResult(pass)).Elem()
}

// layout indexes a pass's section: its groups, which group each field belongs to, and
// for pass3 the summary's fields.
type layout struct {
	isGroup       map[string]bool
	groupOf       map[string]string
	summaryFields []string
}

var layouts = map[contract.Pass]layout{
	contract.Pass1: layoutOf(contract.Pass1),
	contract.Pass2: layoutOf(contract.Pass2),
	contract.Pass3: layoutOf(contract.Pass3),
}

func layoutOf(pass contract.Pass) layout {
	l := layout{isGroup: map[string]bool{}, groupOf: map[string]string{}}
	doc := resultType(pass)
	sec := doc.Field(0).Type
	for i := range sec.NumField() {
		g := sec.Field(i)
		l.isGroup[jsonName(g)] = true
		for j := range g.Type.NumField() {
			l.groupOf[jsonName(g.Type.Field(j))] = jsonName(g)
		}
	}
	if pass == contract.Pass3 {
		sum := doc.Field(1).Type
		for i := range sum.NumField() {
			l.summaryFields = append(l.summaryFields, jsonName(sum.Field(i)))
		}
	}
	return l
}

// template renders the answer's shape as the prompt shows it: every key with its
// allowed values, e.g. "salary_period": "yearly"|"monthly"|"hourly"|null.
func template(pass contract.Pass) string {
	var b strings.Builder
	writeShape(&b, resultType(pass), tags{}, "")
	return b.String()
}

func writeShape(b *strings.Builder, t reflect.Type, tg tags, indent string) {
	nullable := t.Kind() == reflect.Pointer
	if nullable {
		t = t.Elem()
	}
	switch {
	case isJudgement(t):
		// Judgements on one line: their four keys are explained once in the rules.
		b.WriteString(`{"value": `)
		writeShape(b, t.Field(0).Type, tg, indent)
		b.WriteString(`, "confidence": number 0-1, "evidence": string|null, "source": string}`)
	case t.Kind() == reflect.Struct:
		b.WriteString("{\n")
		for i := range t.NumField() {
			f := t.Field(i)
			ft := tagsOf(f)
			if f.Tag.Get("inherit") != "" {
				ft = tg
			}
			b.WriteString(indent + "  \"" + jsonName(f) + "\": ")
			writeShape(b, f.Type, ft, indent+"  ")
			if i < t.NumField()-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
		if nullable {
			b.WriteString("|null")
		}
	case t.Kind() == reflect.Slice:
		b.WriteString("[" + scalarShape(reflect.TypeOf(""), tg, false) + ", …]")
	default:
		b.WriteString(scalarShape(t, tg, nullable))
	}
}

func scalarShape(t reflect.Type, tg tags, nullable bool) string {
	var s string
	switch {
	case tg.enum != nil:
		s = `"` + strings.Join(tg.enum, `"|"`) + `"`
		nullable = nullable && !tg.allowsNotMentioned()
	case tg.format != "":
		s = map[string]string{"currency": `"ISO 4217 code"`, "country": `"ISO 3166-1 alpha-2 code"`, "usstate": `"US state code"`}[tg.format]
	case t.Kind() == reflect.String:
		s = "string"
	case t.Kind() == reflect.Bool:
		s = "true|false"
	case t.Kind() == reflect.Int:
		s = "integer " + rangeText(tg)
	default:
		s = "number" + strings.TrimRight(" "+rangeText(tg), " ")
	}
	if nullable {
		s += "|null"
	}
	return s
}

func rangeText(tg tags) string {
	if !tg.ranged || tg.hi > 1000 {
		return ""
	}
	b, _ := json.Marshal([]float64{tg.lo, tg.hi})
	return strings.NewReplacer("[", "", "]", "", ",", "-").Replace(string(b))
}

// jsonSchema is the JSON Schema of the pass's document, for models that accept a
// structured-output schema. It stays inside Bedrock's supported subset: no numeric or
// string constraints (Bedrock answers 400 to minimum/maximum, docs/local-cloud.md), so
// ranges are checked by our own validator (validate.go) and shown in the prompt.
func jsonSchema(pass contract.Pass) json.RawMessage {
	s := schemaOf(resultType(pass), tags{})
	out, _ := json.Marshal(s)
	return out
}

func schemaOf(t reflect.Type, tg tags) map[string]any {
	nullable := t.Kind() == reflect.Pointer
	if nullable {
		t = t.Elem()
	}
	var s map[string]any
	switch t.Kind() {
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			ft := tagsOf(f)
			if f.Tag.Get("inherit") != "" {
				ft = tg
			}
			props[jsonName(f)] = schemaOf(f.Type, ft)
			required = append(required, jsonName(f))
		}
		s = map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	case reflect.Slice:
		s = map[string]any{"type": "array", "items": schemaOf(reflect.TypeOf(""), tg)}
	case reflect.String:
		s = map[string]any{"type": "string"}
		if tg.enum != nil {
			s["enum"] = tg.enum
		}
	case reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case reflect.Int:
		s = map[string]any{"type": "integer"}
	default:
		s = map[string]any{"type": "number"}
	}
	if nullable {
		s["type"] = []any{s["type"], "null"}
		if e, ok := s["enum"].([]string); ok {
			s["enum"] = append(append([]any{}, toAny(e)...), nil)
		}
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
