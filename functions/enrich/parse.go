package enrich

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Parse statuses, from best to worst.
const (
	StatusOK        = "ok"        // a JSON object with the pass's section, taken as written
	StatusRepaired  = "repaired"  // the same after a safe syntax repair
	StatusTruncated = "truncated" // the answer stops inside a JSON object (raise the budget)
	StatusNoJSON    = "no_json"   // no JSON object at all (reasoning-only or prose)
	StatusInvalid   = "invalid"   // JSON that cannot be read, or a near-empty section
)

// Parsed is a model answer read for one pass. Result is the normalised document with
// its section wrapper ({"extraction": …}, {"inference": …}, or {"analysis": …,
// "summary": …}); it is set for ok and repaired, and for invalid when a near-empty
// section could be read.
type Parsed struct {
	Status  string          `json:"status"`
	Section string          `json:"section"`
	Result  json.RawMessage `json:"result"`
	Issues  []Issue         `json:"issues"`
}

// Usable reports whether the result can be stored as the pass's answer.
func (p Parsed) Usable() bool { return p.Status == StatusOK || p.Status == StatusRepaired }

// reasoningTags name the blocks in which models think aloud; the answer is outside.
var reasoningTags = []string{"reasoning", "thinking", "think", "thought"}

// stripReasoning removes closed thinking blocks, everything after an unclosed opening
// tag, and everything before a closing tag that has no opening one (some models omit
// it). Tags match case-insensitively.
func stripReasoning(s string) string {
	lower := asciiLower(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		start, tag := nextTag(lower, i)
		if start < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i:start])
		closing := "</" + tag + ">"
		end := strings.Index(lower[start:], closing)
		if end < 0 {
			break // unclosed: the rest is reasoning
		}
		i = start + end + len(closing)
	}
	out := b.String()
	if at, tag := lastTag(asciiLower(out)); at >= 0 {
		out = out[at+len(tag)+3:]
	}
	return out
}

// nextTag finds the first opening "<tag>" at or after i, in one pass over the text.
func nextTag(lower string, i int) (int, string) {
	for i < len(lower) {
		j := strings.IndexByte(lower[i:], '<')
		if j < 0 {
			break
		}
		i += j
		for _, tag := range reasoningTags {
			if strings.HasPrefix(lower[i+1:], tag+">") {
				return i, tag
			}
		}
		i++
	}
	return -1, ""
}

// lastTag finds the last closing "</tag>".
func lastTag(lower string) (int, string) {
	best, bestTag := -1, ""
	for _, tag := range reasoningTags {
		if j := strings.LastIndex(lower, "</"+tag+">"); j > best {
			best, bestTag = j, tag
		}
	}
	return best, bestTag
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid for s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Parse reads a model's answer for pass. It takes the answer, not JSON quoted in
// reasoning: thinking blocks are removed, then the last object that carries the
// section wins over earlier ones, and an object with the section's groups but no
// wrapper is accepted. It never panics.
func Parse(pass contract.Pass, raw string) Parsed {
	section := pass.Section()
	out := Parsed{Section: section, Issues: []Issue{}}
	if !pass.Valid() {
		out.Status = StatusInvalid
		out.Issues = append(out.Issues, Issue{Field: "pass", Problem: fmt.Sprintf("unknown pass %q", pass)})
		return out
	}
	if !utf8.ValidString(raw) || strings.ContainsRune(raw, 0) {
		// Bytes that are not text hold no answer, whatever braces they happen to contain.
		out.Status = StatusNoJSON
		out.Issues = append(out.Issues, Issue{Field: section, Problem: "the answer is not UTF-8 text"})
		return out
	}
	spans := objectSpans(stripReasoning(raw))
	if len(spans) == 0 {
		out.Status = StatusNoJSON
		return out
	}
	doc, keyed, repaired := pickDocument(pass, spans)
	if !keyed && anyUnclosed(spans) {
		// The inner groups of a cut-off answer decode fine; only a complete object
		// with the section wrapper outranks the truncation.
		out.Status = StatusTruncated
		return out
	}
	if doc == nil {
		out.Status = StatusInvalid
		out.Issues = append(out.Issues, Issue{Field: section, Problem: "no JSON object in the answer holds the " + section + " result"})
		return out
	}
	result, issues, valid := validate(newResult(pass), doc, section)
	out.Result, out.Issues = result, issues
	switch {
	case !valid:
		out.Status = StatusInvalid
	case repaired:
		out.Status = StatusRepaired
	default:
		out.Status = StatusOK
	}
	return out
}

func newResult(pass contract.Pass) any {
	switch pass {
	case contract.Pass1:
		return &ExtractionResult{}
	case contract.Pass2:
		return &InferenceResult{}
	}
	return &AnalysisResult{}
}

// span is a candidate JSON object in the answer; closed is false when the text ends
// before its closing brace.
type span struct {
	text   string
	closed bool
}

// maxRescans bounds the spans whose string-aware scan ran off the end of the text (each
// costs a pass over the rest), so adversarial input such as "{{{{…" or "{"}{"}…" stays
// linear.
const maxRescans = 16

// objectSpans finds the top-level {…} spans of s, honouring JSON strings. After an
// unclosed span it rescans from the next brace, so a stray "{" in prose does not hide
// a complete answer that follows it.
func objectSpans(s string) []span {
	var spans []span
	rescans := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		end, closed, rescanned := matchBrace(s, i)
		spans = append(spans, span{text: s[i:end], closed: closed})
		if rescanned {
			if rescans++; rescans > maxRescans {
				break
			}
		}
		if closed {
			i = end - 1
		}
	}
	return spans
}

// matchBrace returns the end (exclusive) of the object opening at s[start]. When the
// string-aware scan runs off the end, a plain brace count decides between a truncated
// answer (still open) and a complete one whose quotes are broken (it closes).
// rescanned reports that the plain count was needed.
func matchBrace(s string, start int) (end int, closed, rescanned bool) {
	if end, ok := matchBraceJSON(s, start); ok {
		return end, true, false
	}
	depth := 0
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i + 1, true, true
			}
		}
	}
	return len(s), false, true
}

func matchBraceJSON(s string, start int) (int, bool) {
	depth, inString, escaped := 0, false, false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(s), false
}

func anyUnclosed(spans []span) bool {
	for _, s := range spans {
		if !s.closed {
			return true
		}
	}
	return false
}

// pickDocument decodes the candidates and returns the document for pass: the last one
// with the section key (at the top or one level down; keyed), else the last one
// holding the section's groups or fields without the wrapper, which is then wrapped.
func pickDocument(pass contract.Pass, spans []span) (doc map[string]any, keyed, repaired bool) {
	section := pass.Section()
	var bare map[string]any
	bareRepaired := false
	for i := len(spans) - 1; i >= 0; i-- {
		if !spans[i].closed {
			continue
		}
		obj, fixed := decodeObject(spans[i].text)
		if obj == nil {
			continue
		}
		if doc := withSection(obj, section); doc != nil {
			return regroup(pass, doc), true, fixed
		}
		if bare == nil && looksLikeSection(pass, obj) {
			bare, bareRepaired = obj, fixed
		}
	}
	if bare == nil {
		return nil, false, false
	}
	doc = map[string]any{section: bare}
	if pass == contract.Pass3 {
		doc["summary"] = bare["summary"]
	}
	return regroup(pass, doc), false, bareRepaired
}

func withSection(obj map[string]any, section string) map[string]any {
	if _, ok := obj[section].(map[string]any); ok {
		return obj
	}
	for _, v := range obj {
		if inner, ok := v.(map[string]any); ok {
			if _, ok := inner[section].(map[string]any); ok {
				return inner
			}
		}
	}
	return nil
}

// looksLikeSection reports whether obj holds at least two of the section's groups or
// three of its fields: an answer that left out the wrapper.
func looksLikeSection(pass contract.Pass, obj map[string]any) bool {
	l := layouts[pass]
	groups, fields := 0, 0
	for k, v := range obj {
		if _, ok := v.(map[string]any); ok && l.isGroup[k] {
			groups++
		}
		if l.groupOf[k] != "" {
			fields++
		}
	}
	return groups >= 2 || fields >= 3
}

// regroup puts fields written at the section level back into their groups (some
// models flatten the groups away), and for pass3 finds summary fields written inside
// the analysis or next to it.
func regroup(pass contract.Pass, doc map[string]any) map[string]any {
	l := layouts[pass]
	sec, _ := doc[pass.Section()].(map[string]any)
	for k, v := range sec {
		g := l.groupOf[k]
		if g == "" {
			continue
		}
		grp, ok := sec[g].(map[string]any)
		if !ok {
			grp = map[string]any{}
			sec[g] = grp
		}
		if _, taken := grp[k]; !taken {
			grp[k] = v
		}
		delete(sec, k)
	}
	if pass == contract.Pass3 {
		if _, ok := doc["summary"].(map[string]any); !ok {
			if s, ok := sec["summary"].(map[string]any); ok {
				doc["summary"] = s
			} else if s := collect(l.summaryFields, sec, doc); s != nil {
				doc["summary"] = s
			}
		}
	}
	return doc
}

// collect gathers the named keys found in any of the objects, or nil if none is.
func collect(keys []string, objs ...map[string]any) map[string]any {
	var out map[string]any
	for _, k := range keys {
		for _, o := range objs {
			if v, ok := o[k]; ok {
				if out == nil {
					out = map[string]any{}
				}
				out[k] = v
				break
			}
		}
	}
	return out
}

// decodeObject decodes text as a JSON object, repairing safe syntax glitches when the
// plain decode fails.
func decodeObject(text string) (map[string]any, bool) {
	var obj map[string]any
	if json.Unmarshal([]byte(text), &obj) == nil && obj != nil {
		return obj, false
	}
	fixed, changed := repairJSON(text)
	if !changed {
		return nil, false
	}
	obj = nil
	if json.Unmarshal([]byte(fixed), &obj) == nil && obj != nil {
		return obj, true
	}
	return nil, false
}
