package llm

import "testing"

func TestLookup(t *testing.T) {
	tests := []struct {
		id         string
		wantOK     bool
		wantBase   string
		structured bool
		maxOut     int
	}{
		{"openai.gpt-oss-120b-1:0", true, "openai.gpt-oss-120b", true, 16_384},
		{"us.openai.gpt-oss-120b-1:0", true, "openai.gpt-oss-120b", true, 16_384},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", true, "anthropic.claude-sonnet-4-5", true, 64_000},
		{"anthropic.claude-opus-4-6-v1", true, "anthropic.claude-opus-4-6", true, 128_000},
		{"google.gemma-3-27b-it", true, "google.gemma-3-27b-it", false, 8_192},
		{"anthropic.claude-opus-4-1-20250805-v1:0", false, "", false, 0},
		{"acme.unknown-model-v1:0", false, "", false, 0},
		{"", false, "", false, 0},
	}
	for _, tt := range tests {
		m, ok := Lookup(tt.id)
		if ok != tt.wantOK || m.ID != tt.wantBase || m.StructuredOutput != tt.structured || m.MaxOutputTokens != tt.maxOut {
			t.Errorf("Lookup(%q) = %+v, %t; want id %q structured %t max %d, %t", tt.id, m, ok, tt.wantBase, tt.structured, tt.maxOut, tt.wantOK)
		}
	}
}

func TestModelCapabilities(t *testing.T) {
	oss, _ := Lookup("openai.gpt-oss-120b-1:0")
	gemma, _ := Lookup("google.gemma-3-27b-it")
	for _, tt := range []struct {
		name string
		got  bool
		want bool
	}{
		{"gpt-oss offers flex", oss.OffersTier(TierFlex), true},
		{"gpt-oss offers the default tier as \"\"", oss.OffersTier(""), true},
		{"gemma does not offer priority", gemma.OffersTier(TierPriority), false},
		{"gpt-oss takes low", oss.AcceptsReasoningEffort("low"), true},
		{"gpt-oss refuses minimal", oss.AcceptsReasoningEffort("minimal"), false},
		{"gemma takes no effort", gemma.AcceptsReasoningEffort("low"), false},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %t, want %t", tt.name, tt.got, tt.want)
		}
	}
	// gpt-oss launched in us-west-2 only; the table records where it is offered now.
	if in, known := oss.OfferedIn("us-east-1"); !in || !known {
		t.Errorf("gpt-oss-120b in us-east-1 = %t, known %t", in, known)
	}
	if in, known := oss.OfferedIn("ap-east-1"); in || !known {
		t.Errorf("gpt-oss-120b in ap-east-1 = %t, known %t", in, known)
	}
	if _, known := gemma.OfferedIn("us-east-1"); known {
		t.Error("gemma regions are not recorded; OfferedIn must say unknown")
	}
}

// Every row is usable by the emulator and the budgets: a known tier list, and a
// reasoning field exactly when there are values for it.
func TestModelTableRows(t *testing.T) {
	for _, m := range Models() {
		if BaseModelID(m.ID) != m.ID {
			t.Errorf("%s: the key is not a base model id (%s)", m.ID, BaseModelID(m.ID))
		}
		if !m.OffersTier(TierDefault) {
			t.Errorf("%s: every model offers the default tier", m.ID)
		}
		if (m.ReasoningEffortField == "") != (len(m.ReasoningEfforts) == 0) {
			t.Errorf("%s: reasoning field %q with values %v", m.ID, m.ReasoningEffortField, m.ReasoningEfforts)
		}
	}
}
