package status_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

// newStore provisions a stack's tables in the local cloud.
func newStore(t *testing.T, stack string) *status.Store {
	t.Helper()
	cfg, names, _ := localcloud.SharedStack(t, stack, nil)
	return status.New(dynamodb.NewFromConfig(cfg), names.StatusTable)
}

// args picks, from values, the arguments transition tr takes.
func args(tr status.Transition, values map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for _, a := range tr.Args() {
		out[a] = values[a]
	}
	return out
}

// StartAttempt (status.Count) retried by Step Functions after its write committed,
// its answer lost, counts the attempt once: attempts is set from the value the claim
// read, not incremented (issue 11, minor: "StartAttempt re-applied by a retry
// double-counts").
func TestRetriedCountCountsOnce(t *testing.T) {
	ctx := context.Background()
	store := newStore(t, "count")
	const id = "8801"
	exec := contract.PublicationName(id, 1)
	values := map[string]types.AttributeValue{
		":now": status.S(status.Timestamp(time.Now())), ":partition": status.S("year=2025/month=06/day=01/hour=00"),
		":token": status.S(status.NewToken()), ":max": status.N(3), ":exec": status.S(exec), ":pub": status.N(1),
		":force": &types.AttributeValueMemberBOOL{Value: false},
	}
	if _, err := store.Apply(ctx, status.Queue, id, args(status.Queue, values)); err != nil {
		t.Fatal(err)
	}
	claimed, err := store.Apply(ctx, status.Claim, id, args(status.Claim, values))
	if err != nil {
		t.Fatal(err)
	}
	values[":attempt"] = status.N(claimed.Attempts + 1) // as the state machine renders it from the claim
	for try := 1; try <= 2; try++ {
		j, err := store.Apply(ctx, status.Count, id, args(status.Count, values))
		if err != nil {
			t.Fatalf("try %d: %v", try, err)
		}
		if j.Attempts != 1 || j.Overall != contract.StatusInProgress {
			t.Fatalf("after try %d of StartAttempt: %s with %d attempts, want IN_PROGRESS with 1", try, j.Overall, j.Attempts)
		}
	}
}
