package enrichpartition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// BenchmarkPassOwnWork measures what the handler itself spends per pass, without the
// model and without S3: build the prompt, parse and validate the answer, encode the
// Bronze document.
func BenchmarkPassOwnWork(b *testing.B) {
	posting := contract.Posting{
		JobPostingID: "4325749256", JobTitle: "Staff Data Engineer", CompanyName: "Acme", JobLocation: "Remote, US",
		DescriptionText: strings.Repeat("Build Spark and Airflow pipelines on AWS; $170,000-$210,000; 6+ years of Python and SQL. ", 120),
	}
	previous := map[contract.Pass]json.RawMessage{}
	for _, pass := range contract.Passes {
		req, err := enrich.BuildRequest(pass, posting, previous, TargetFor(stacks.DefaultModel, "low"))
		if err != nil {
			b.Fatal(err)
		}
		answer := offline.Answer(pass, req.Messages[len(req.Messages)-1].Text)
		b.Run(string(pass), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, err := enrich.BuildRequest(pass, posting, previous, TargetFor(stacks.DefaultModel, "low"))
				if err != nil {
					b.Fatal(err)
				}
				parsed := enrich.Parse(pass, answer)
				if !parsed.Usable() {
					b.Fatalf("offline answer not usable: %s", parsed.Status)
				}
				doc := bronze.Document{Metadata: bronze.Metadata{JobPostingID: posting.JobPostingID, Pass: pass, PromptVersion: req.PromptVersion}, Result: parsed.Result}
				if _, err := json.MarshalIndent(doc, "", "  "); err != nil {
					b.Fatal(err)
				}
			}
		})
		previous[pass] = enrich.Parse(pass, answer).Result
	}
}
