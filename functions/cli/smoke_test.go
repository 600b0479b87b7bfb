package cli

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func TestSmoke(t *testing.T) {
	st := localStack(t)
	var r smokeReport
	runJSON(t, ExitOK, &r, "smoke")
	if r.ExecutionStatus != "SUCCEEDED" || len(r.Passes) != 3 || failed(r.Checks) != 0 || r.CostUSD <= 0 || !r.CostKnown {
		t.Fatalf("report: %+v", r)
	}
	for _, p := range r.Passes {
		if p.TotalMs <= 0 || p.Tokens.Output == 0 {
			t.Errorf("pass %s has no timing or tokens: %+v", p.Pass, p)
		}
	}
	assertRemoved(t, st, r)
	waitIdle(t, st)
}

func TestSmokeReportsAFailedPass(t *testing.T) {
	st := localStack(t)
	emu := localcloud.Shared(t).Bedrock()
	emu.SetFaults(bedrockemu.Faults{Rules: []bedrockemu.Rule{{Pass: contract.Pass2, Kind: bedrockemu.Invalid}}})
	t.Cleanup(func() { emu.SetFaults(bedrockemu.Faults{}) })
	var r smokeReport
	runJSON(t, ExitFailure, &r, "smoke")
	checks := map[string]check{}
	for _, c := range r.Checks {
		checks[c.Name] = c
	}
	if r.ExecutionStatus != "FAILED" || checks["execution"].Result != checkFail || checks["status row"].Result != checkFail || checks["slot"].Result != checkOK {
		t.Fatalf("report: %+v", r)
	}
	// What the failed run wrote is removed too.
	assertRemoved(t, st, r)
	// In AWS the execution-ended rule has CleanupLocks release the slot; this package's
	// cloud delivers no events, so the sweep does it.
	t.Log(runJSON(t, ExitOK, nil, "reconcile", "--apply"))
	waitIdle(t, st)
}

// assertRemoved checks that nothing of the smoke job is left in Bronze or the status table.
func assertRemoved(t *testing.T, st *localrun.Stack, r smokeReport) {
	t.Helper()
	ctx := context.Background()
	out, err := s3.NewFromConfig(st.Config).ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(st.Settings.BronzeBucket), Prefix: aws.String(contract.BronzePrefix + r.JobPostingID + "/"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("%d Bronze objects left under the smoke job", len(out.Contents))
	}
	if _, err := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable).Get(ctx, r.JobPostingID); !errors.Is(err, status.ErrNotFound) {
		t.Errorf("status row of the smoke job: %v", err)
	}
	if len(r.Removed) == 0 {
		t.Error("the report lists nothing removed")
	}
}

func TestSmokeStopsAnExecutionPastItsTimeout(t *testing.T) {
	st := localStack(t)
	emu := localcloud.Shared(t).Bedrock()
	emu.SetFaults(bedrockemu.Faults{Latency: 20 * time.Second})
	t.Cleanup(func() { emu.SetFaults(bedrockemu.Faults{}) })
	code, out, errOut := runCLIWith(t, "", "smoke", "--local", "--json", "--timeout", "3s")
	if code != ExitFailure || !strings.Contains(errOut, "still running after 3s: stopped it") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var r smokeReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// The command waits for the stopped execution to end before it removes its writes.
	// (AWS ends it ABORTED; moto lets the running Lambda task finish, then fails it.)
	d, err := sfn.NewFromConfig(st.Config).DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(r.ExecutionARN)})
	if err != nil || d.Status == sfntypes.ExecutionStatusRunning {
		t.Fatalf("execution %s still %s: %v", r.ExecutionARN, d.Status, err)
	}
	assertRemoved(t, st, r)
	// In AWS the execution-ended rule has CleanupLocks release the slot; this package's
	// cloud delivers no events, so the sweep does it.
	runJSON(t, ExitOK, nil, "reconcile", "--apply")
	waitIdle(t, st)
}
