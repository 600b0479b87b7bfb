package enrich

import (
	"strings"
	"unicode/utf8"
)

// repairJSON fixes syntax glitches seen in model answers, only where the intent is
// unambiguous: comments, trailing commas, single-quoted or curly-quoted strings, raw
// control characters inside strings, and Python/JavaScript literals (NaN and the
// infinities become null: JSON has no such numbers). It reports whether it changed
// anything. It is only used on text that failed to decode as-is.
func repairJSON(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\'' || r == '“' || r == '”':
			i = copyString(&b, s, i)
			continue
		case r == '/' && strings.HasPrefix(s[i:], "//"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(s)
			}
			continue
		case r == '/' && strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(s)
			}
			continue
		case r == '-' && strings.HasPrefix(s[i+1:], "Infinity"):
			b.WriteString("null")
			i += len("-Infinity")
			continue
		case r == ',' && closesNext(s[i+1:]):
			i++
			continue
		case isIdentStart(r):
			j := i
			for j < len(s) && isIdentStart(rune(s[j])) {
				j++
			}
			word := s[i:j]
			if lit, ok := literals[word]; ok {
				word = lit
			}
			b.WriteString(word)
			i = j
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	out := b.String()
	return out, out != s
}

var literals = map[string]string{
	"NaN": "null", "Infinity": "null", "None": "null", "undefined": "null",
	"True": "true", "False": "false",
}

func isIdentStart(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// closesNext reports whether the next non-space character closes an object or list.
func closesNext(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n")
	return t != "" && (t[0] == '}' || t[0] == ']')
}

// copyString writes the string literal starting at s[i] as a valid JSON string and
// returns the index after it.
func copyString(b *strings.Builder, s string, i int) int {
	open, size := utf8.DecodeRuneInString(s[i:])
	i += size
	b.WriteByte('"')
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && i+1 < len(s):
			if open == '\'' && s[i+1] == '\'' {
				b.WriteByte('\'')
			} else {
				b.WriteString(s[i : i+2])
			}
			i += 2
			continue
		case closesString(open, r, s[i+size:]):
			b.WriteByte('"')
			return i + size
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return i
}

// closesString decides whether r ends a string opened with open. A single quote only
// ends a string when JSON punctuation follows, so apostrophes inside text survive.
func closesString(open, r rune, rest string) bool {
	switch open {
	case '"':
		return r == '"'
	case '\'':
		if r != '\'' {
			return false
		}
		t := strings.TrimLeft(rest, " \t\r\n")
		return t == "" || strings.ContainsRune(",:}]", rune(t[0]))
	default: // curly quotes
		return r == '”' || r == '"'
	}
}
