package localcloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// The package-wide cloud of RunTests, and why there is none.
var (
	shared    *Cloud
	sharedErr error
)

// RunTests is a TestMain body: it starts one cloud for the package, runs setup on it,
// runs the tests and closes the cloud. Tests get the cloud from Shared. When moto is
// missing the tests still run and Shared skips the ones that need it.
func RunTests(m *testing.M, opts Options, setup func(*Cloud) error) int {
	ctx := context.Background()
	shared, sharedErr = Start(ctx, opts)
	if sharedErr == nil && setup != nil {
		if err := setup(shared); err != nil {
			sharedErr = fmt.Errorf("local cloud setup: %w", err)
		}
	}
	if errors.Is(sharedErr, ErrMotoMissing) {
		fmt.Fprintln(os.Stderr, "localcloud: integration tests will skip:", sharedErr)
	}
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "localcloud:", err)
		}
	}
	return code
}

// Shared returns the package's cloud. It skips the test when moto is not installed
// and fails it when the cloud could not start for any other reason.
func Shared(t testing.TB) *Cloud {
	t.Helper()
	switch {
	case errors.Is(sharedErr, ErrMotoMissing):
		t.Skip("local cloud unavailable: ", sharedErr)
	case sharedErr != nil:
		t.Fatal("local cloud: ", sharedErr)
	case shared == nil:
		t.Fatal("local cloud: call localcloud.RunTests from TestMain")
	}
	return shared
}

// Own starts a cloud of the test's own (for a test that must not share state or
// faults with the package's), closed when the test ends. It skips the test when moto
// is not installed.
func Own(t testing.TB, opts Options) *Cloud {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if errors.Is(err, ErrMotoMissing) {
		t.Skip("local cloud unavailable: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// SharedStack provisions stack (the dev defaults with buckets of its own, changed by
// edit when not nil) in the package's cloud and returns the operator's SDK
// configuration, its names and resources.
func SharedStack(t testing.TB, stack string, edit func(*stacks.Settings)) (aws.Config, contract.Names, Resources) {
	t.Helper()
	ctx := context.Background()
	cfg, err := Shared(t).AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.SilverBucket, s.BronzeBucket = "silver-"+stack, "bronze-"+stack
	if edit != nil {
		edit(&s)
	}
	names := contract.NamesFor(stack)
	res, err := Provision(ctx, cfg, names, s, "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, names, res
}

// SetSemaphoreCount overwrites a semaphore's count, as if n slots were held by
// executions the test does not run.
func SetSemaphoreCount(t testing.TB, db *dynamodb.Client, table string, n int) {
	t.Helper()
	_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{contract.SemaphoreKey: &types.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		UpdateExpression:          aws.String("SET #c = :n"),
		ExpressionAttributeNames:  map[string]string{"#c": contract.SemaphoreCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(n)}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
