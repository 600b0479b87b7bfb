package contract

import (
	"errors"
	"testing"
)

func TestValidateJobID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"4325749256", true},
		{"1", true},
		{"12345678901234567890", true},
		{"", false},
		{"../x", false},
		{"12ab", false},
		{"123456789012345678901", false},
		{"１２３", false}, // full-width digits are not ASCII digits
		{"12 3", false},
	}
	for _, tt := range tests {
		err := ValidateJobID(tt.id)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidJobID)) {
			t.Errorf("ValidateJobID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestModelShortAndKeys(t *testing.T) {
	tests := []struct{ model, short string }{
		{"openai.gpt-oss-120b-1:0", "openai-gpt-oss-120b-1"},
		{"us.openai.gpt-oss-120b-1:0", "openai-gpt-oss-120b-1"},
		{"mistral.mistral-large-3-675b-instruct", "mistral-mistral-large-3-675b-instruct"},
		{"anthropic.claude-3-sonnet-20240229-v1:0", "anthropic-claude-3-sonnet-20240229-v1"},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic-claude-sonnet-4-5-20250929-v1"},
	}
	for _, tt := range tests {
		if got := ModelShort(tt.model); got != tt.short {
			t.Errorf("ModelShort(%q) = %q, want %q", tt.model, got, tt.short)
		}
	}
	if got := BronzeKey("42", Pass2, "us.openai.gpt-oss-120b-1:0"); got != "ai_enrichment/42/pass2-openai-gpt-oss-120b-1.json" {
		t.Errorf("BronzeKey = %q", got)
	}
	if got := BronzeRawKey("42", Pass2, "openai.gpt-oss-120b-1:0"); got != "ai_enrichment/42/pass2-openai-gpt-oss-120b-1-raw.txt" {
		t.Errorf("BronzeRawKey = %q", got)
	}
}

func TestDedupAndGroups(t *testing.T) {
	a, b := DedupID("42", "year=2026/month=01/day=02/hour=03"), DedupID("42", "year=2026/month=01/day=02/hour=04")
	if a == b || a != DedupID("42", "year=2026/month=01/day=02/hour=03") || len(a) > 128 {
		t.Errorf("dedup ids %q %q: want stable, distinct per partition, ≤ 128 chars", a, b)
	}
	groups := map[string]bool{}
	for i := range 1000 {
		g := MessageGroupID(string(rune('0'+i%10))+string(rune('0'+i/10%10))+string(rune('0'+i/100)), 16)
		groups[g] = true
	}
	if len(groups) < 12 {
		t.Errorf("1000 ids spread over %d of 16 groups", len(groups))
	}
	if MessageGroupID("42", 16) != MessageGroupID("42", 16) || MessageGroupID("42", 0) != "g00" {
		t.Error("group ids not stable")
	}
}

func TestParsePassAndSections(t *testing.T) {
	for _, p := range Passes {
		got, err := ParsePass(string(p))
		if err != nil || got != p || p.Section() == "" {
			t.Errorf("ParsePass(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := ParsePass("pass4"); err == nil {
		t.Error("pass4 accepted")
	}
}

func TestSameModel(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-haiku-20240307-v1:0", true},
		{"global.openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b-1:0", true},
		{"openai.gpt-oss-120b-1:0", "openai.gpt-oss-20b-1:0", false},
		{"us.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0", true},
	} {
		if got := SameModel(tt.a, tt.b); got != tt.want {
			t.Errorf("SameModel(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
