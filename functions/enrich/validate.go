package enrich

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Issue reports one field the validator could not take as given. The field is
// normalised (usually to null) and the pass goes on.
type Issue struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// tags are the vocabulary annotations of a field (see schema.go).
type tags struct {
	enum   []string
	lo, hi float64
	ranged bool
	format string
	maxLen int
	when   []condition
}

// condition is one clause of a when tag: the sibling field has a value, or (with
// values) one of those values.
type condition struct {
	field  string
	values []string
}

func tagsOf(f reflect.StructField) tags {
	var t tags
	if e := f.Tag.Get("enum"); e != "" {
		t.enum = strings.Split(e, "|")
	}
	if r := f.Tag.Get("range"); r != "" {
		lo, hi, _ := strings.Cut(r, ",")
		t.lo, _ = strconv.ParseFloat(lo, 64)
		t.hi, _ = strconv.ParseFloat(hi, 64)
		t.ranged = true
	}
	t.format = f.Tag.Get("format")
	t.maxLen, _ = strconv.Atoi(f.Tag.Get("maxlen"))
	if w := f.Tag.Get("when"); w != "" {
		for _, clause := range strings.Split(w, ";") {
			name, values, _ := strings.Cut(clause, "=")
			c := condition{field: name}
			if values != "" {
				c.values = strings.Split(values, "|")
			}
			t.when = append(t.when, c)
		}
	}
	return t
}

// holds reports whether the condition is true of the struct value it belongs to.
func (c condition) holds(parent reflect.Value) bool {
	for i := range parent.NumField() {
		if jsonName(parent.Type().Field(i)) != c.field {
			continue
		}
		f := parent.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return false
			}
			f = f.Elem()
		}
		switch {
		case f.Kind() == reflect.Slice:
			return f.Len() > 0 && c.values == nil
		case f.Kind() == reflect.String && f.String() == "not_mentioned":
			return false
		case c.values != nil:
			return f.Kind() == reflect.String && slices.Contains(c.values, f.String())
		}
		return true
	}
	return false
}

func (t tags) allowsNotMentioned() bool { return slices.Contains(t.enum, "not_mentioned") }

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// validator converts a decoded JSON value into a result type, normalising what it can
// and recording an Issue for what it cannot. It never fails and never panics on input.
type validator struct {
	issues        []Issue
	fields        int // leaf fields the schema expects
	fieldsPresent int // leaf fields the answer had
	inInferred    int
}

func (v *validator) issue(path, format string, a ...any) {
	v.issues = append(v.issues, Issue{Field: path, Problem: fmt.Sprintf(format, a...)})
}

// fill sets dst (addressable) from raw.
func (v *validator) fill(dst reflect.Value, raw any, path string, t tags) {
	switch dst.Kind() {
	case reflect.Pointer:
		v.fillPointer(dst, raw, path, t)
	case reflect.Struct:
		v.fillStruct(dst, raw, path, t)
	case reflect.Slice:
		dst.Set(reflect.ValueOf(v.list(raw, path, t)))
	}
}

func (v *validator) fillPointer(dst reflect.Value, raw any, path string, t tags) {
	if raw == nil {
		if t.allowsNotMentioned() {
			dst.Set(reflect.ValueOf(ptr("not_mentioned")))
		}
		return
	}
	switch dst.Type().Elem().Kind() {
	case reflect.String:
		if s, ok := v.text(raw, path, t); ok {
			dst.Set(reflect.ValueOf(&s))
		} else if t.allowsNotMentioned() {
			dst.Set(reflect.ValueOf(ptr("not_mentioned")))
		}
	case reflect.Float64:
		if f, ok := v.number(raw, path, t); ok {
			dst.Set(reflect.ValueOf(&f))
		}
	case reflect.Int:
		if f, ok := v.number(raw, path, t); ok {
			if f != float64(int(f)) {
				v.issue(path, "%v is not a whole number", f)
				return
			}
			n := int(f)
			dst.Set(reflect.ValueOf(&n))
		}
	case reflect.Bool:
		if b, ok := v.boolean(raw, path); ok {
			dst.Set(reflect.ValueOf(&b))
		}
	case reflect.Struct:
		if _, ok := raw.(map[string]any); !ok {
			v.issue(path, "expected an object")
			return
		}
		p := reflect.New(dst.Type().Elem())
		v.fillStruct(p.Elem(), raw, path, t)
		dst.Set(p)
	}
}

func (v *validator) fillStruct(dst reflect.Value, raw any, path string, outer tags) {
	typ := dst.Type()
	inferred := isJudgement(typ)
	obj, ok := raw.(map[string]any)
	switch {
	case raw == nil:
		obj = map[string]any{} // the parent already reported it missing or null
	case inferred && !ok:
		// A bare value where {value, confidence, evidence, source} was asked for: keep it.
		v.issue(path, "expected an object with value, confidence, evidence and source")
		obj = map[string]any{"value": raw}
	case !ok:
		v.issue(path, "expected an object")
		obj = map[string]any{}
	}
	if inferred {
		v.inInferred++
		defer func() { v.inInferred-- }()
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := jsonName(f)
		t := tagsOf(f)
		if f.Tag.Get("inherit") != "" {
			t = outer
		}
		fpath := joinPath(path, name)
		val, found := obj[name]
		if !found && f.Tag.Get("alias") != "" {
			val, found = obj[f.Tag.Get("alias")]
		}
		leaf := v.inInferred == 0 && !isGroup(f.Type)
		if leaf {
			v.fields++
		}
		if !found {
			// Only the first missing level is reported: a missing group is one issue.
			if raw != nil && (!inferred || name == "value") {
				v.issue(fpath, "missing")
			}
		} else if leaf {
			v.fieldsPresent++
		}
		v.fill(dst.Field(i), val, fpath, t)
	}
	// Conditional fields are decided once their siblings are normalised: what the
	// schema says carries no information is dropped, silently (docs/passes.md).
	for i := range typ.NumField() {
		for _, c := range tagsOf(typ.Field(i)).when {
			if !c.holds(dst) {
				dst.Field(i).SetZero()
				break
			}
		}
	}
}

// isGroup reports whether t is a plain group of fields.
func isGroup(t reflect.Type) bool { return t.Kind() == reflect.Struct && !isJudgement(t) }

// isJudgement reports whether t is an Inferred judgement, whose Value takes the tags
// of the field holding it.
func isJudgement(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.NumField() > 0 && t.Field(0).Tag.Get("inherit") != ""
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// text validates a string field; ok is false when the field is null after normalisation.
func (v *validator) text(raw any, path string, t tags) (string, bool) {
	var s string
	switch x := raw.(type) {
	case string:
		s = strings.TrimSpace(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		v.issue(path, "expected a string, got %s", kindOf(raw))
		return "", false
	}
	switch {
	case t.enum != nil:
		if c, ok := canonicalEnum(s, t.enum); ok {
			return c, true
		}
		if !nullWords[strings.ToLower(s)] {
			v.issue(path, "%q is not an allowed value", clip(s))
		}
		return "", false
	case t.format != "":
		if nullWords[strings.ToLower(s)] {
			return "", false
		}
		norm := map[string]func(string) (string, bool){"currency": normalizeCurrency, "country": normalizeCountry, "usstate": normalizeUSState}[t.format]
		if c, ok := norm(s); ok {
			return c, true
		}
		v.issue(path, "%q is not a %s code", clip(s), t.format)
		return "", false
	case nullWords[strings.ToLower(s)]:
		return "", false
	}
	return clipText(s, t.maxLen), true
}

// clipText cuts s to at most n runes (n > 0), at the last space when there is one in
// the second half, and marks the cut with "…".
func clipText(s string, n int) string {
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if sp := strings.LastIndexByte(cut, ' '); sp > len(cut)/2 {
		cut = cut[:sp]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}

func (v *validator) number(raw any, path string, t tags) (float64, bool) {
	var f float64
	switch x := raw.(type) {
	case float64:
		f = x
	case string:
		if nullWords[strings.ToLower(strings.TrimSpace(x))] {
			return 0, false
		}
		n, ok := parseNumber(x)
		if !ok {
			v.issue(path, "%q is not a number", clip(x))
			return 0, false
		}
		f = n
	default:
		v.issue(path, "expected a number, got %s", kindOf(raw))
		return 0, false
	}
	if t.ranged && (f < t.lo || f > t.hi) {
		v.issue(path, "%v is outside [%v, %v]", f, t.lo, t.hi)
		return 0, false
	}
	return f, true
}

func (v *validator) boolean(raw any, path string) (bool, bool) {
	switch x := raw.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "y":
			return true, true
		case "false", "no", "n":
			return false, true
		}
		if nullWords[strings.ToLower(strings.TrimSpace(x))] {
			return false, false
		}
		v.issue(path, "%q is not a boolean", clip(x))
	default:
		v.issue(path, "expected a boolean, got %s", kindOf(raw))
	}
	return false, false
}

// list validates a string list: never null, items trimmed, deduplicated, enum items
// normalised and unknown ones dropped with an issue.
func (v *validator) list(raw any, path string, t tags) []string {
	out := []string{}
	var items []any
	switch x := raw.(type) {
	case nil:
		return out
	case []any:
		items = x
	case string:
		// Some models answer "SQL, Python" where a list was asked for.
		for _, s := range strings.Split(x, ",") {
			items = append(items, s)
		}
	default:
		v.issue(path, "expected a list, got %s", kindOf(raw))
		return out
	}
	item := t
	item.enum = slices.DeleteFunc(slices.Clone(t.enum), func(s string) bool { return s == "not_mentioned" })
	for i, it := range items {
		if item.enum != nil {
			if s, ok := it.(string); ok && nullWords[strings.ToLower(strings.TrimSpace(s))] {
				continue
			}
		}
		s, ok := v.text(it, fmt.Sprintf("%s[%d]", path, i), item)
		if ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func kindOf(raw any) string {
	switch raw.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// clip keeps issue messages short when a model puts a paragraph where a code was asked.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// validate converts doc (the decoded document with its section wrapper) into the pass's
// result type and re-encodes it. Invalid means the section is near-empty: fewer than
// half its groups are objects or fewer than a quarter of its fields are present.
func validate(target any, doc map[string]any, section string) (json.RawMessage, []Issue, bool) {
	v := &validator{}
	dst := reflect.ValueOf(target).Elem()
	v.fillStruct(dst, doc, "", tags{})
	groups, present := 0, 0
	sec, _ := doc[section].(map[string]any)
	secType := dst.Field(0).Type()
	for i := range secType.NumField() {
		groups++
		if _, ok := sec[jsonName(secType.Field(i))].(map[string]any); ok {
			present++
		}
	}
	valid := present*2 >= groups && v.fieldsPresent*4 >= v.fields
	out, err := json.Marshal(target)
	if err != nil {
		// The result types hold only strings, numbers, booleans and lists: cannot happen.
		panic(fmt.Sprintf("enrich: encode %T: %v", target, err))
	}
	return out, v.issues, valid
}
