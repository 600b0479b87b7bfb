// Package cli is the enrichctl command tree. Each topic lives in its own file and
// registers its commands on Root in init, so main.go only calls Execute.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Exit codes, distinct so scripts can branch on them.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the operation ran and failed
	ExitUsage    = 2 // bad flags or arguments
	ExitNotFound = 3 // the thing asked about does not exist
	ExitRefused  = 4 // refused: nothing to do, or confirmation missing
)

// Global flags shared by every subcommand.
var (
	flagLocal bool
	flagStack string
	flagJSON  bool
)

// DefaultLocalEndpoint is where `--local` finds the local cloud gateway unless
// AWS_ENDPOINT_URL says otherwise.
const DefaultLocalEndpoint = "http://127.0.0.1:4566"

// Root is the enrichctl command.
var Root = &cobra.Command{
	Use:           "enrichctl",
	Short:         "Operate and develop the ai-enrichment pipeline",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	Root.PersistentFlags().BoolVar(&flagLocal, "local", false, "target the local cloud (AWS_ENDPOINT_URL or "+DefaultLocalEndpoint+") instead of AWS")
	Root.PersistentFlags().StringVar(&flagStack, "stack", "dev", "stack whose resource names to use (dev, staging, prod)")
	Root.PersistentFlags().BoolVar(&flagJSON, "json", false, "print JSON instead of text")
}

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// usageErr and friends wrap errors with their exit code.
func usageErr(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

func notFoundErr(format string, a ...any) error {
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf(format, a...)}
}

func refusedErr(format string, a ...any) error {
	return &ExitError{Code: ExitRefused, Err: fmt.Errorf(format, a...)}
}

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string) int {
	Root.SetArgs(args)
	err := Root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(os.Stderr, "enrichctl:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	// cobra's own flag and argument errors are usage errors.
	if isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// names returns the resource names of the selected stack.
func names() contract.Names { return contract.NamesFor(flagStack) }

// awsConfig loads the SDK configuration: the default credential chain for AWS, or the
// local cloud endpoint with static test credentials for --local.
func awsConfig(ctx context.Context) (aws.Config, error) {
	if !flagLocal {
		return config.LoadDefaultConfig(ctx)
	}
	endpoint := os.Getenv(contract.EnvAWSEndpointURL)
	if endpoint == "" {
		endpoint = DefaultLocalEndpoint
	}
	return endpointConfig(ctx, endpoint)
}

// endpointConfig is the SDK configuration for a local endpoint.
func endpointConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
}
