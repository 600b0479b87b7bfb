package enrich

import (
	"os"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// benchAnswers are real answers from testdata, one per pass, of typical size.
var benchAnswers = map[contract.Pass]string{
	contract.Pass1: "testdata/4201877691/pass1-minimax-minimax-m2-raw.txt", // reasoning then fenced JSON
	contract.Pass2: "testdata/4201877691/pass2-qwen-qwen3-vl-235b-a22b-raw.txt",
	contract.Pass3: "testdata/4201877691/pass3-mistral-mistral-large-3-675b-instruct-raw.txt",
}

func BenchmarkParseValidate(b *testing.B) {
	for _, pass := range contract.Passes {
		raw, err := os.ReadFile(benchAnswers[pass])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(pass), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if p := Parse(pass, string(raw)); !p.Usable() {
					b.Fatalf("status %s", p.Status)
				}
			}
		})
	}
}

func BenchmarkBuildRequest(b *testing.B) {
	p := samplePosting()
	for _, pass := range contract.Passes {
		prev := previousFor(b, pass)
		b.Run(string(pass), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildRequest(pass, p, prev, testTarget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
