package localcloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
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
