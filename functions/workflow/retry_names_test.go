package workflow

import (
	"slices"
	"strings"
	"testing"
)

// TestRetriersMatchEverySpelling checks that every DynamoDB and Lambda task retries
// the transient errors under each name Step Functions may give them: a retrier whose
// name never matches turns a blip into a failed attempt.
func TestRetriersMatchEverySpelling(t *testing.T) {
	want := map[string][]string{
		"arn:aws:states:::dynamodb:": {"DynamoDB.InternalServerError", "DynamoDB.InternalServerErrorException",
			"DynamoDB.RequestLimitExceeded", "DynamoDB.RequestLimitExceededException",
			"DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException"},
		"arn:aws:states:::lambda:invoke": {"Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
			"Lambda.AWSLambdaException", "Lambda.SdkClientException"},
	}
	m := pipelineFor(t, "prod")
	tasks := 0
	for _, n := range m.states {
		task, ok := n.state.(*Task)
		if !ok {
			continue
		}
		for prefix, names := range want {
			if !strings.HasPrefix(task.Resource, prefix) {
				continue
			}
			tasks++
			for _, name := range names {
				if !slices.ContainsFunc(task.Retry, func(r Retry) bool { return slices.Contains(r.ErrorEquals, name) }) {
					t.Errorf("%s (%s) does not retry %s", n.name, task.Resource, name)
				}
			}
		}
	}
	if tasks == 0 {
		t.Fatal("no DynamoDB or Lambda task found")
	}
}
