package cleanup

import "testing"

func TestExecutionARN(t *testing.T) {
	got, err := ExecutionARN("arn:aws:states:us-east-1:123456789012:stateMachine:ai-enrichment-dev-pipeline", "job-42-ab")
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:states:us-east-1:123456789012:execution:ai-enrichment-dev-pipeline:job-42-ab"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := ExecutionARN("arn:aws:lambda:us-east-1:1:function:f", "x"); err == nil {
		t.Fatal("want an error for a non state machine ARN")
	}
}

func TestJobOf(t *testing.T) {
	tests := []struct{ execution, input, want string }{
		{"job-42-ab12", "", "42"},
		{"job-42", "", "42"},
		{"job-42-ab12", `{"job_data":{"job_posting_id":"77"}}`, "77"},
		{"job-42-ab12", `{"job_data":{"job_posting_id":"../x"}}`, "42"},
		{"manual-run", "", ""},
		{"job-x1-ab", "", ""},
	}
	for _, tt := range tests {
		if got := jobOf(tt.execution, tt.input); got != tt.want {
			t.Errorf("jobOf(%q, %q) = %q, want %q", tt.execution, tt.input, got, tt.want)
		}
	}
}
