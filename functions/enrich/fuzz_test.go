package enrich

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/pass*-raw.txt")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(filepath.Base(name)[4]-'1'), string(raw))
	}
	f.Add(uint8(0), p1Full)
	f.Add(uint8(0), "{'extraction': {'compensation': {'salary_min': NaN,},},}")
	f.Add(uint8(2), "<think>{</think>{\"analysis\": {“a”: 1}}")
	statuses := map[string]bool{StatusOK: true, StatusRepaired: true, StatusTruncated: true, StatusNoJSON: true, StatusInvalid: true}
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		pass := contract.Passes[int(which)%len(contract.Passes)]
		got := Parse(pass, raw)
		if !statuses[got.Status] || got.Section != pass.Section() {
			t.Fatalf("status %q section %q", got.Status, got.Section)
		}
		if got.Usable() {
			if err := json.Unmarshal(got.Result, newResult(pass)); err != nil {
				t.Fatalf("usable result does not decode: %v", err)
			}
		}
	})
}
