package enrich

import "testing"

func TestRepairJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"trailing commas", `{"a": [1, 2,], "b": 3,}`, `{"a": [1, 2], "b": 3}`},
		{"comments", "{\"a\": 1, // one\n\"b\": /* two */ 2}", "{\"a\": 1, \n\"b\":  2}"},
		{"single quotes", `{'a': 'it's here', 'b': 'x'}`, `{"a": "it's here", "b": "x"}`},
		{"escaped single quote", `{'a': 'it\'s'}`, `{"a": "it's"}`},
		{"double quote inside single", `{'a': 'say "hi"'}`, `{"a": "say \"hi\""}`},
		{"curly quotes", `{“a”: “b”}`, `{"a": "b"}`},
		{"curly apostrophe in a string is text", `{"a": "Bachelor’s"}`, `{"a": "Bachelor’s"}`},
		{"raw control characters", "{\"a\": \"x\ny\tz\x01\"}", `{"a": "x\ny\tz\u0001"}`},
		{"literals", `{"a": NaN, "b": -Infinity, "c": True, "d": None}`, `{"a": null, "b": null, "c": true, "d": null}`},
		{"words inside strings untouched", `{"a": "NaN, non-null, True",}`, `{"a": "NaN, non-null, True"}`},
		{"unterminated comment", `{"a": 1 /* cut`, `{"a": 1 `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := repairJSON(tt.in)
			if got != tt.want {
				t.Fatalf("repairJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if changed != (tt.in != tt.want) {
				t.Fatalf("changed = %v", changed)
			}
		})
	}
}
