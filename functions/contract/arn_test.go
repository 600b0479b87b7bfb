package contract

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

// Every ARN carries the account's partition (issue 12 item 10: GovCloud and China
// stacks got arn:aws ARNs).
func TestARNsUseThePartition(t *testing.T) {
	a := Account{Partition: "aws-us-gov", Region: "us-gov-west-1", ID: "123456789012"}
	for _, arn := range []string{
		a.TableARN("t"), a.IndexARN("t", "i"), a.QueueARN("q"), a.FunctionARN("f"), a.StateMachineARN("m"),
		a.ExecutionsARN("m"), a.IntegrationARN("lambda", "invoke"), a.LogGroupARN("/g"), a.RoleARN("r"),
		a.BucketARN("b"), a.ObjectARN("b", "k*"), a.FoundationModelARN("*", "m"),
	} {
		if !strings.HasPrefix(arn, "arn:aws-us-gov:") {
			t.Errorf("%s: not in partition aws-us-gov", arn)
		}
	}
}

func TestSoldThroughMarketplace(t *testing.T) {
	for id, want := range map[string]bool{
		"amazon.nova-pro-v1:0":              false,
		"us.amazon.nova-premier-v1:0":       false,
		"openai.gpt-oss-120b-1:0":           true,
		"global.anthropic.claude-opus-4-6":  true,
		"mistral.mistral-large-3-675b-v1:0": true,
	} {
		if got := SoldThroughMarketplace(id); got != want {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
}
