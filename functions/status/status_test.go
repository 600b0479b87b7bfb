package status

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

type av = types.AttributeValue

func s(v string) av { return &types.AttributeValueMemberS{Value: v} }
func n(v string) av { return &types.AttributeValueMemberN{Value: v} }
func m(v map[string]av) av {
	return &types.AttributeValueMemberM{Value: v}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		item    map[string]av
		want    Job
		wantErr bool
	}{{
		name: "completed pass and failure",
		item: map[string]av{
			"job_posting_id": s("42"), "overallStatus": s("FAILED"), "attempts": n("2"),
			"createdAt": s("2026-01-01T00:00:00Z"), "updatedAt": s("2026-01-01T00:01:00Z"),
			"pass1": m(map[string]av{
				"status": s("COMPLETED"), "bronzeKey": s("ai_enrichment/42/pass1-m.json"), "model": s("m"),
				"inputTokens": n("100"), "outputTokens": n("20"), "costUsd": n("1.5e-05"),
				"cached": &types.AttributeValueMemberBOOL{Value: true}, "completedAt": s("t"),
			}),
			"lastError": m(map[string]av{"step": s("pass2"), "detail": s(`{"Error":"ModelThrottled","Cause":"slow down"}`)}),
		},
		want: Job{
			ID: "42", Overall: "FAILED", Attempts: 2, CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:01:00Z",
			Passes: map[contract.Pass]Pass{contract.Pass1: {
				Status: "COMPLETED", BronzeKey: "ai_enrichment/42/pass1-m.json", Model: "m",
				InputTokens: 100, OutputTokens: 20, CostUSD: 1.5e-05, CostKnown: true, Cached: true, CompletedAt: "t",
			}},
			LastError: &Failure{Step: "pass2", Error: "ModelThrottled", Cause: "slow down"},
		},
	}, {
		name: "pass of a model without a price",
		item: map[string]av{
			"job_posting_id": s("43"),
			"pass1": m(map[string]av{
				"status": s("COMPLETED"), "model": s("m"), "inputTokens": n("100"), "outputTokens": n("20"),
				"costUsd": n("0"), "costKnown": &types.AttributeValueMemberBOOL{Value: false},
			}),
		},
		want: Job{ID: "43", Passes: map[contract.Pass]Pass{contract.Pass1: {
			Status: "COMPLETED", Model: "m", InputTokens: 100, OutputTokens: 20, CostKnown: false,
		}}},
	}, {
		name: "claimed, nothing recorded, unparsable detail kept",
		item: map[string]av{
			"job_posting_id": s("7"), "overallStatus": s("PENDING"), "currentExecutionId": s("job-7"),
			"lastError": m(map[string]av{"step": s("slot"), "detail": s("plain text")}),
		},
		want: Job{ID: "7", Overall: "PENDING", Execution: "job-7", Passes: map[contract.Pass]Pass{}, LastError: &Failure{Step: "slot", Cause: "plain text"}},
	}, {
		name:    "attempts not an integer",
		item:    map[string]av{"job_posting_id": s("1"), "attempts": n("1.5")},
		wantErr: true,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(c.item)
			if (err != nil) != c.wantErr {
				t.Fatalf("Decode error = %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && !reflect.DeepEqual(got, c.want) {
				t.Errorf("Decode = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestCostUSD(t *testing.T) {
	j := Job{Passes: map[contract.Pass]Pass{contract.Pass1: {CostUSD: 0.25}, contract.Pass2: {CostUSD: 0.5}}}
	if got := j.CostUSD(); got != 0.75 {
		t.Fatalf("CostUSD = %v, want 0.75", got)
	}
}
