package invoke

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func record(body, dedup string) events.SQSMessage {
	return events.SQSMessage{MessageId: "m-" + dedup, Body: body, Attributes: map[string]string{"MessageDeduplicationId": dedup, "MessageGroupId": "g01"}}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		wantKey string
	}{
		{"valid", `{"job":{"job_posting_id":"4325757965","posting_key":"ai_enrichment/4325757965/posting.json"}}`, "", "ai_enrichment/4325757965/posting.json"},
		{"posting key filled in", `{"job":{"job_posting_id":"42"}}`, "", "ai_enrichment/42/posting.json"},
		{"not json", `{"job":`, "decode message body", ""},
		{"missing id", `{"job":{}}`, "invalid job_posting_id", ""},
		{"id with path", `{"job":{"job_posting_id":"../42"}}`, "invalid job_posting_id", ""},
		{"foreign posting key", `{"job":{"job_posting_id":"42","posting_key":"ai_enrichment/43/posting.json"}}`, "posting_key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := parseRecord(record(tt.body, "d1"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if j.msg.Job.PostingKey != tt.wantKey {
				t.Fatalf("posting key %q, want %q", j.msg.Job.PostingKey, tt.wantKey)
			}
			if !strings.HasPrefix(j.name, "job-"+j.msg.Job.JobPostingID+"-") {
				t.Fatalf("execution name %q", j.name)
			}
		})
	}
	if _, err := parseRecord(record(`{"job":{"job_posting_id":"x"}}`, "d")); !errors.Is(err, contract.ErrInvalidJobID) {
		t.Fatalf("want ErrInvalidJobID, got %v", err)
	}
}

func TestExecutionNameStableAcrossRedeliveryAndResend(t *testing.T) {
	body := `{"job":{"job_posting_id":"42"}}`
	first, _ := parseRecord(record(body, "job-42-abc"))
	redelivered := record(body, "job-42-abc")
	redelivered.Attributes["ApproximateReceiveCount"] = "3"
	again, _ := parseRecord(redelivered)
	resent := record(body, "deferred-m-job-42-abc")
	resent.MessageAttributes = map[string]events.SQSMessageAttribute{AttrOriginDedupID: {StringValue: aws.String("job-42-abc"), DataType: "String"}}
	copied, _ := parseRecord(resent)
	other, _ := parseRecord(record(body, "job-42-def"))
	if first.name != again.name || first.name != copied.name {
		t.Fatalf("names differ: %s %s %s", first.name, again.name, copied.name)
	}
	if other.name == first.name {
		t.Fatalf("a different publication must get a different name, both %s", first.name)
	}
}

func TestMaxReceiveCount(t *testing.T) {
	tests := []struct {
		policy string
		want   int
		err    bool
	}{
		{"", 0, false},
		{`{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":5}`, 5, false},
		{`{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":"3"}`, 3, false},
		{`{"maxReceiveCount":"x"}`, 0, true},
		{`nope`, 0, true},
	}
	for _, tt := range tests {
		got, err := maxReceiveCount(tt.policy)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("maxReceiveCount(%q) = %d, %v; want %d, error %v", tt.policy, got, err, tt.want, tt.err)
		}
	}
}

// The execution name of a message is its publication's, whatever its deduplication id.
func TestExecutionNameIsThePublications(t *testing.T) {
	a, _ := parseRecord(record(`{"job":{"job_posting_id":"42"},"publication":3}`, "d1"))
	b, _ := parseRecord(record(`{"job":{"job_posting_id":"42"},"publication":3}`, "d2"))
	c, _ := parseRecord(record(`{"job":{"job_posting_id":"42"},"publication":4}`, "d1"))
	if a.name != contract.PublicationName("42", 3) || b.name != a.name || c.name == a.name {
		t.Fatalf("names %q %q %q", a.name, b.name, c.name)
	}
}
