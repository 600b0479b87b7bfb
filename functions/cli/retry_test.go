package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// TestJobAndRetry enriches two jobs through the deployed pipeline, then reads and
// retries them the ways on-call does.
func TestJobAndRetry(t *testing.T) {
	st := localStack(t)
	t.Cleanup(func() { waitIdle(t, st) })
	parts := writeSilver(t, st, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 1, 2, 13)
	p := parts[0].String()
	runJSON(t, ExitOK, nil, "backfill", "--from", p, "--to", p)
	queued := jobsOf(t, st, contract.StatusQueued, parts[0])
	if len(queued) != 2 {
		t.Fatalf("%d jobs queued, want 2", len(queued))
	}
	a, b := queued[0].ID, queued[1].ID

	// A queued job is left to its message.
	runJSON(t, ExitRefused, nil, "retry", a)

	stop, err := st.Start(context.Background(), localrun.Schedule{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	completed := func(j status.Job) bool { return j.Overall == contract.StatusCompleted && j.Execution == "" }
	before := waitFor(t, st, a, completed)
	waitFor(t, st, b, completed)
	stop()
	// A job is COMPLETED just before its execution releases the slot and ends.
	waitIdle(t, st)

	var jr jobReport
	runJSON(t, ExitOK, &jr, "job", a)
	if jr.Overall != contract.StatusCompleted || jr.Attempts != 1 || jr.Partition != p || len(jr.Passes) != 3 || jr.CostUSD <= 0 {
		t.Fatalf("job: %+v", jr)
	}
	for i, ps := range jr.Passes {
		if ps.Pass != contract.Passes[i] || ps.Status != contract.StatusCompleted || ps.BronzeKey != contract.BronzeKey(a, ps.Pass, ps.Model) || ps.OutputTokens == 0 {
			t.Fatalf("pass %d: %+v", i, ps)
		}
	}
	if !strings.HasPrefix(jr.Execution, "job-"+a) || jr.ExecutionStatus != "SUCCEEDED" || !strings.HasSuffix(jr.ExecutionARN, ":"+jr.Execution) {
		t.Fatalf("execution of a completed job: %+v", jr)
	}
	if out := runText(t, "job", a); !strings.Contains(out, "COMPLETED after 1 attempt (") || !strings.Contains(out, jr.Passes[2].BronzeKey) {
		t.Fatalf("text output:\n%s", out)
	}

	// Refusals and usage errors.
	runJSON(t, ExitRefused, nil, "retry", a)
	runJSON(t, ExitUsage, nil, "retry", a, "--force", "--from-pass", "pass2")
	runJSON(t, ExitUsage, nil, "retry", a, "--from-pass", "pass4")
	runJSON(t, ExitNotFound, nil, "job", "999999999999")
	runJSON(t, ExitNotFound, nil, "retry", "999999999999")
	runJSON(t, ExitUsage, nil, "job", "12ab")

	// --from-pass pass3: pass3 is recorded again, pass1 and pass2 are kept; the
	// attempt budget starts over.
	var rr retryReport
	runJSON(t, ExitOK, &rr, "retry", a, "--from-pass", "pass3")
	if rr.Previous != contract.StatusCompleted || len(rr.Forgotten) != 1 || rr.Forgotten[0] != contract.Pass3 || !strings.HasPrefix(rr.Execution, "job-"+a+"-p") || rr.Execution == jr.Execution || rr.Existed {
		t.Fatalf("retry: %+v", rr)
	}
	after := waitFor(t, st, a, func(j status.Job) bool { return completed(j) && j.Passes[contract.Pass3].CompletedAt != "" })
	if after.Attempts != 1 || after.Passes[contract.Pass1] != before.Passes[contract.Pass1] || after.Passes[contract.Pass3].CompletedAt == before.Passes[contract.Pass3].CompletedAt {
		t.Fatalf("after --from-pass pass3:\nbefore %+v\nafter  %+v", before.Passes, after.Passes)
	}
	// pass3 came from the cache: its Bronze writer is the first execution, and the
	// report says so instead of passing it off as the retry's.
	waitIdle(t, st)
	runJSON(t, ExitOK, &jr, "job", a)
	if !jr.Passes[2].Cached || jr.ExecutionSource != sourceWriter || jr.Note == "" || strings.Contains(jr.Execution, "retry") {
		t.Fatalf("job after a cached retry: %+v", jr)
	}

	// A permanently failed job gets a fresh budget and resumes where it stopped.
	markPermanentlyFailed(t, st, b)
	runJSON(t, ExitOK, &rr, "retry", b)
	revived := waitFor(t, st, b, completed)
	if revived.Attempts != 1 || revived.Passes[contract.Pass3].Status != contract.StatusCompleted {
		t.Fatalf("retried permanently failed job: %+v", revived)
	}

	// --force sends every pass to the model again. Each retry runs under a name never
	// used before, although each resets the attempts (L2).
	calls := len(st.Cloud.Bedrock().Calls())
	previous := rr.Execution
	runJSON(t, ExitOK, &rr, "retry", b, "--force")
	if rr.Execution == previous || rr.Existed {
		t.Fatalf("second retry of %s reused execution %s", b, previous)
	}
	forced := waitFor(t, st, b, func(j status.Job) bool {
		return completed(j) && j.Passes[contract.Pass1].CompletedAt != revived.Passes[contract.Pass1].CompletedAt
	})
	for _, pass := range contract.Passes {
		if forced.Passes[pass].Cached {
			t.Fatalf("%s served from the cache despite --force", pass)
		}
	}
	if got := len(st.Cloud.Bedrock().Calls()) - calls; got < 3 {
		t.Fatalf("--force made %d model calls, want at least 3", got)
	}
}

// runText runs enrichctl --local with text output, wanting success.
func runText(t *testing.T, args ...string) string {
	t.Helper()
	code, out := runCLI(t, append(args, "--local")...)
	if code != ExitOK {
		t.Fatalf("enrichctl %v: exit %d\n%s", args, code, out)
	}
	return out
}

// markPermanentlyFailed makes a job look as if its last attempt failed at pass3.
func markPermanentlyFailed(t *testing.T, st *localrun.Stack, id string) {
	t.Helper()
	_, err := dynamodb.NewFromConfig(st.Config).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Names.StatusTable),
		Key:                       map[string]types.AttributeValue{contract.StatusKey: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #st = :pf, #at = :max REMOVE #p3"),
		ExpressionAttributeNames:  map[string]string{"#st": contract.AttrOverallStatus, "#at": contract.AttrAttempts, "#p3": string(contract.Pass3)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pf": &types.AttributeValueMemberS{Value: contract.StatusPermanentlyFailed}, ":max": &types.AttributeValueMemberN{Value: "3"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
