package enrich

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// FieldAgreement is how far two results of the same pass agree on one field, from 0
// (disagree) to 1 (agree).
type FieldAgreement struct {
	Field string  `json:"field"`
	Kind  string  `json:"kind"` // enum, bool, number or list
	Score float64 `json:"score"`
}

// Agreement kinds. Free text (quotes, evidence, the assessment) is not compared: two
// good answers word it differently.
const (
	KindEnum   = "enum"
	KindBool   = "bool"
	KindNumber = "number"
	KindList   = "list"
)

// NumberTolerance: numbers agree when they differ by at most 10 % of the larger, or
// 0.1 (a score band) when that is more.
const NumberTolerance = 0.1

// Agree compares two normalised results of pass (Parsed.Result documents) field by
// field, as the schema types them: enums, codes and booleans must be equal, numbers
// within NumberTolerance, lists score their overlap (shared items over all items).
// Judgements compare their values. Both null (or not_mentioned, or []) agree.
func Agree(pass contract.Pass, a, b json.RawMessage) ([]FieldAgreement, error) {
	var da, db map[string]any
	if err := json.Unmarshal(a, &da); err != nil {
		return nil, fmt.Errorf("agree %s: first result: %w", pass, err)
	}
	if err := json.Unmarshal(b, &db); err != nil {
		return nil, fmt.Errorf("agree %s: second result: %w", pass, err)
	}
	var out []FieldAgreement
	agreeStruct(resultType(pass), da, db, "", &out)
	return out, nil
}

func agreeStruct(t reflect.Type, a, b map[string]any, path string, out *[]FieldAgreement) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		agreeValue(f.Type, tagsOf(f), a[name], b[name], joinPath(path, name), out)
	}
}

func agreeValue(t reflect.Type, tg tags, a, b any, path string, out *[]FieldAgreement) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	switch {
	case isJudgement(t):
		agreeValue(t.Field(0).Type, tg, am["value"], bm["value"], path, out)
	case t.Kind() == reflect.Struct:
		agreeStruct(t, am, bm, path, out)
	case t.Kind() == reflect.Slice:
		*out = append(*out, FieldAgreement{path, KindList, overlap(a, b)})
	case t.Kind() == reflect.Bool:
		*out = append(*out, FieldAgreement{path, KindBool, equal(a, b)})
	case t.Kind() == reflect.String && (tg.enum != nil || tg.format != ""):
		*out = append(*out, FieldAgreement{path, KindEnum, equal(empty(a), empty(b))})
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Int:
		*out = append(*out, FieldAgreement{path, KindNumber, closeEnough(a, b)})
	}
}

// empty folds the spellings of "no value" together.
func empty(v any) any {
	if v == "not_mentioned" {
		return nil
	}
	return v
}

func equal(a, b any) float64 {
	if a == b {
		return 1
	}
	return 0
}

func closeEnough(a, b any) float64 {
	x, okA := a.(float64)
	y, okB := b.(float64)
	switch {
	case !okA || !okB:
		return equal(a, b) // both null agree; one null disagrees
	case math.Abs(x-y) <= math.Max(NumberTolerance*math.Max(math.Abs(x), math.Abs(y)), NumberTolerance):
		return 1
	}
	return 0
}

// overlap is the Jaccard index of two lists, case-insensitively; two empty lists agree.
func overlap(a, b any) float64 {
	set := func(v any) map[string]bool {
		s := map[string]bool{}
		l, _ := v.([]any)
		for _, e := range l {
			s[strings.ToLower(fmt.Sprint(e))] = true
		}
		return s
	}
	sa, sb := set(a), set(b)
	union := len(sa)
	shared := 0
	for k := range sb {
		if sa[k] {
			shared++
		} else {
			union++
		}
	}
	if union == 0 {
		return 1
	}
	return float64(shared) / float64(union)
}
