package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEmitWritesOneEMFLine(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "AIEnrichment")
	e.now = func() time.Time { return time.UnixMilli(1700000000000) }
	err := e.Emit(map[string]string{"Pass": "pass1", "Model": "m"}, map[string]any{"job_posting_id": "42"},
		Metric{Name: "InputTokens", Value: 120, Unit: Count},
		Metric{Name: "ModelLatencyMs", Value: 850, Unit: Milliseconds})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		InputTokens float64
		Pass        string
		JobID       string `json:"job_posting_id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != 1700000000000 || cw.Namespace != "AIEnrichment" {
		t.Fatalf("bad envelope: %+v", doc.AWS)
	}
	if got := cw.Dimensions[0]; len(got) != 2 || got[0] != "Model" || got[1] != "Pass" {
		t.Fatalf("dimensions not sorted: %v", got)
	}
	if doc.InputTokens != 120 || doc.Pass != "pass1" || doc.JobID != "42" || len(cw.Metrics) != 2 {
		t.Fatalf("bad body: %+v", doc)
	}
}

func TestEmitNothingIsNoop(t *testing.T) {
	var buf bytes.Buffer
	if err := New(&buf, "x").Emit(nil, nil); err != nil || buf.Len() != 0 {
		t.Fatalf("err=%v out=%q", err, buf.String())
	}
}
