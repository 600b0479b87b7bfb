// Package cli is the enrichctl command tree. Each command is built by a constructor,
// newXCmd(o *Options) *cobra.Command, listed once in NewRoot; the flags every command
// shares live in Options and are passed explicitly, so a command can be built and run
// alone (in a test, with its own Options) and nothing is kept between runs.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Exit codes, distinct so scripts can branch on them.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the operation ran and failed
	ExitUsage       = 2   // bad flags or arguments
	ExitNotFound    = 3   // the thing asked about does not exist
	ExitRefused     = 4   // refused: nothing to do, or confirmation missing
	ExitInterrupted = 130 // interrupted (Ctrl-C): the shell's 128 + SIGINT
)

// DefaultLocalEndpoint is where `--local` finds the local cloud gateway unless
// --endpoint or AWS_ENDPOINT_URL says otherwise.
const DefaultLocalEndpoint = "http://127.0.0.1:4566"

// Options are the flags shared by every command.
type Options struct {
	Stack string // dev, staging or prod: resource names and Pulumi.<stack>.yaml
	Local bool   // target the local cloud instead of AWS
	JSON  bool   // print JSON instead of text
	// Endpoint is the local cloud's URL for --local; empty means AWS_ENDPOINT_URL,
	// else DefaultLocalEndpoint.
	Endpoint string
	// Err receives warnings and progress (the command's stderr).
	Err io.Writer
}

// IO is where a run reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// NewRoot builds the whole command tree around one Options.
func NewRoot(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:           "enrichctl",
		Short:         "Operate and develop the ai-enrichment pipeline",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bad --stack is refused before it names resources or joins a file path.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if o.Err == nil {
				o.Err = cmd.ErrOrStderr()
			}
			if err := stacks.CheckName(o.Stack); err != nil {
				return usageErr("--stack: %v", err)
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.BoolVar(&o.Local, "local", false, "target the local cloud (--endpoint, AWS_ENDPOINT_URL or "+DefaultLocalEndpoint+") instead of AWS")
	f.StringVar(&o.Stack, "stack", "dev", "stack whose resource names and settings to use ("+strings.Join(stacks.Names, ", ")+")")
	f.BoolVar(&o.JSON, "json", false, "print JSON instead of text")
	f.StringVar(&o.Endpoint, "endpoint", "", "local cloud URL for --local (default AWS_ENDPOINT_URL, else "+DefaultLocalEndpoint+")")
	_ = root.RegisterFlagCompletionFunc("stack", cobra.FixedCompletions(stacks.Names, cobra.ShellCompDirectiveNoFileComp))
	root.AddCommand(
		newStatusCmd(o),
		newJobCmd(o),
		newRetryCmd(o),
		newLocksCmd(o),
		newReconcileCmd(o),
		newDLQCmd(o),
		newBackfillCmd(o),
		newPlanCmd(o),
		newRunPassCmd(o),
		newParseCmd(o),
		newSilverCmd(o),
		newWorkflowCmd(o),
		newSimulateCmd(o),
		newDemoCmd(o),
		newLocalCmd(o),
		newSampleCmd(o),
		newPreflightCmd(o),
		newSmokeCmd(o),
		newStuckCmd(o),
		newPoliciesCmd(o),
		newRequeueCmd(o),
		newCompareCmd(o),
		newBenchTokensCmd(o),
		newWarmCmd(o),
		newLifecycleCmd(o),
		newCompletionCmd(),
	)
	return root
}

// group is a command that only holds subcommands: without one it prints its help, and
// an unknown one is a usage error (cobra would print the help and exit 0).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageErr("%s (see `%s --help`)", msg, cmd.CommandPath())
		},
	}
	g.AddCommand(subs...)
	return g
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

// Execute runs the command line on the process's standard streams and returns the
// exit code.
func Execute(ctx context.Context, args []string) int {
	return Run(ctx, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, args)
}

// Run runs one command line with a fresh command tree and returns the exit code.
func Run(ctx context.Context, stdio IO, args []string) int {
	o := &Options{Err: stdio.Err}
	root := NewRoot(o)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil {
		// Whatever failed, it failed because the run was interrupted.
		fmt.Fprintln(stdio.Err, "enrichctl: interrupted")
		return ExitInterrupted
	}
	fmt.Fprintln(stdio.Err, "enrichctl:", explain(o, err))
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

// explain adds the likely fix to errors whose raw text does not say it.
func explain(o *Options, err error) string {
	if o.Local && errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("no local cloud answers at %s: start one with `enrichctl local up --stack %s` (or point --endpoint at it)\n  (%v)", o.localEndpoint(), o.Stack, err)
	}
	return err.Error()
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
func (o *Options) names() contract.Names { return contract.NamesFor(o.Stack) }

// settings loads the selected stack's settings from its Pulumi.<stack>.yaml.
func (o *Options) settings() (stacks.Settings, error) { return stackSettings(o.Stack) }

// localEndpoint is the URL --local targets.
func (o *Options) localEndpoint() string {
	if o.Endpoint != "" {
		return o.Endpoint
	}
	if e := os.Getenv(contract.EnvAWSEndpointURL); e != "" {
		return e
	}
	return DefaultLocalEndpoint
}

// awsConfig loads the SDK configuration: the default credential chain for AWS, or the
// local cloud endpoint with static test credentials for --local.
func (o *Options) awsConfig(ctx context.Context) (aws.Config, error) {
	if o.Local {
		return endpointConfig(ctx, o.localEndpoint())
	}
	if e := os.Getenv(contract.EnvAWSEndpointURL); e != "" {
		// The SDK honours it silently; say so, since it was likely exported for the
		// local cloud.
		fmt.Fprintf(o.stderr(), "enrichctl: warning: %s=%s redirects this command away from AWS; unset it, or use --local for the local cloud\n", contract.EnvAWSEndpointURL, e)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, fmt.Errorf("aws configuration: %w", err)
	}
	// Resolve the credentials once, so a missing set is one clear message rather than
	// the instance-metadata errors of the last provider in the chain.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return cfg, ctx.Err()
		}
		if !strings.Contains(strings.ToLower(err.Error()), "imds") {
			return cfg, fmt.Errorf("AWS credentials: %w", err)
		}
		// The chain ended at the instance-metadata provider: nothing is configured.
		return cfg, errors.New("no AWS credentials found (environment, shared config or profile, SSO, instance role): " +
			"set AWS_PROFILE or run `aws configure` / `aws sso login`, or add --local for the local cloud")
	}
	return cfg, nil
}

func (o *Options) stderr() io.Writer {
	if o.Err == nil {
		return os.Stderr
	}
	return o.Err
}

// endpointConfig is the SDK configuration for a local endpoint.
func endpointConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
}
