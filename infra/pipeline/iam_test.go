package pipeline

import (
	"slices"
	"strings"
	"testing"
)

func TestModelARNs(t *testing.T) {
	a := Account{Partition: "aws", Region: "us-east-1", ID: "123456789012"}
	for _, tc := range []struct {
		model string
		want  []string
	}{
		{"openai.gpt-oss-120b-1:0", []string{"arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0"}},
		{"us.anthropic.claude-sonnet-4-v1:0", []string{
			"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-v1:0",
			"arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-v1:0",
		}},
	} {
		if got := a.ModelARNs(tc.model); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.model, got, tc.want)
		}
	}
}

func TestPolicyRejectsWildcardActions(t *testing.T) {
	for _, tc := range []struct {
		actions []string
		ok      bool
	}{
		{[]string{"s3:GetObject"}, true},
		{[]string{"s3:*"}, false},
		{[]string{"dynamodb:Get*"}, false},
		{[]string{"*"}, false},
	} {
		doc, err := Policy([]Statement{{Sid: "S", Actions: tc.actions, Resources: []string{"arn:aws:s3:::b/k"}}})
		if (err == nil) != tc.ok {
			t.Errorf("%v: err = %v", tc.actions, err)
		}
		if tc.ok && !strings.Contains(doc, `"Effect":"Allow"`) {
			t.Errorf("%v: %s", tc.actions, doc)
		}
	}
}
