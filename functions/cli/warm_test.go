package cli

import (
	"encoding/json"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
)

func TestWarmSchemasLocal(t *testing.T) {
	code, out := runCLI(t, "--local", "--stack", "dev", "--json", "warm-schemas")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, out)
	}
	var res struct {
		Warmed []enrichpartition.Warmed `json:"warmed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(res.Warmed) != 3 {
		t.Fatalf("warmed %+v, want the three passes", res.Warmed)
	}
	for _, w := range res.Warmed {
		if w.Skipped || w.Model == "" {
			t.Errorf("%+v: the dev stack's model takes a schema, want it sent", w)
		}
	}
}
