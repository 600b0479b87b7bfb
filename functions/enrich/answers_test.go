package enrich

import (
	"os"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// completeAnswer is a schema-complete answer of pass for samplePosting (every field
// present), kept in testdata so the parser and validator tests need no model.
func completeAnswer(t testing.TB, pass contract.Pass) string {
	t.Helper()
	b, err := os.ReadFile("testdata/complete/" + string(pass) + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
