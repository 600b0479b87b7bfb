package cli

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/silver"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// deployed is the dev stack deployed once into the package's local cloud; the
// operator commands run against it with --local.
var deployed *localrun.Stack

func TestMain(m *testing.M) {
	os.Exit(localcloud.RunTests(m, localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}}, func(c *localcloud.Cloud) error {
		s, err := stackSettings("dev")
		if err != nil {
			return err
		}
		deployed, err = localrun.Deploy(context.Background(), c, contract.NamesFor("dev"), s, localrun.Options{DeferDelay: 2 * time.Second})
		return err
	}))
}

// localStack skips without moto and points --local at the package's cloud.
func localStack(t *testing.T) *localrun.Stack {
	t.Helper()
	c := localcloud.Shared(t)
	t.Setenv(contract.EnvAWSEndpointURL, c.Endpoint())
	return deployed
}

// runJSON runs enrichctl with --local --json, wants exit code want and decodes the
// output into v when it is not nil.
func runJSON(t *testing.T, want int, v any, args ...string) string {
	t.Helper()
	code, out := runCLI(t, append(args, "--local", "--json")...)
	if code != want {
		t.Fatalf("enrichctl %v: exit %d, want %d\n%s", args, code, want, out)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("enrichctl %v: output is not JSON: %v\n%s", args, err, out)
		}
	}
	return out
}

// writeSilver writes perPartition sample postings into each of n hourly partitions
// starting at first and returns the partitions.
func writeSilver(t *testing.T, st *localrun.Stack, first time.Time, n, perPartition int, seed uint64) []silver.Partition {
	t.Helper()
	parts := sample.Partitions(first.Add(time.Duration(n-1)*time.Hour), n)
	if _, err := sample.WritePartitions(context.Background(), s3.NewFromConfig(st.Config), st.Settings.SilverBucket, st.Settings.SilverPrefix, parts, perPartition, seed); err != nil {
		t.Fatal(err)
	}
	return parts
}

// jobsOf lists the jobs of one partition with the overall status.
func jobsOf(t *testing.T, st *localrun.Stack, overall string, p silver.Partition) []status.Job {
	t.Helper()
	all, err := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable).ListByStatus(context.Background(), overall, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []status.Job
	for _, j := range all {
		if j.Partition == p.String() {
			out = append(out, j)
		}
	}
	return out
}

// waitFor polls a job's status until done says so.
func waitFor(t *testing.T, st *localrun.Stack, id string, done func(status.Job) bool) status.Job {
	t.Helper()
	store := status.New(dynamodb.NewFromConfig(st.Config), st.Names.StatusTable)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		j, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(j) {
			return j
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s still %s with claim %q", id, j.Overall, j.Execution)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// waitIdle polls until no slot is held: a job is COMPLETED before its execution
// releases the slot, and later tests look at the semaphore.
func waitIdle(t *testing.T, st *localrun.Stack) {
	t.Helper()
	sem := semaphore.New(dynamodb.NewFromConfig(st.Config), st.Names.SemaphoreTable)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		s, err := sem.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count == 0 && len(s.Holders) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("slots still held: %+v", s)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
