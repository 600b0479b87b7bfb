package tokens

import "testing"

// Counts of OpenAI's o200k_base encoding (its published examples), so a wrong or
// missing embedded encoding fails here rather than skewing every figure.
func TestCountO200k(t *testing.T) {
	for s, want := range map[string]int{
		"":                   0,
		"hello world":        2,
		"tiktoken is great!": 6,
		"<|endoftext|>":      7, // special-token text in data is ordinary text
	} {
		got, err := Count(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Count(%q) = %d, want %d", s, got, want)
		}
	}
}
