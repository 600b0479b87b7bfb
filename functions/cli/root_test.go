package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown dlq subcommand", []string{"dlq", "foo"}, `unknown command "foo" for "enrichctl dlq"`},
		{"misspelled workflow subcommand", []string{"workflow", "dia"}, "did you mean diagram?"},
		{"unknown stack", []string{"plan", "--stack", "qa"}, `unknown stack "qa": want dev, staging, prod`},
		{"stack with a path", []string{"workflow", "asl", "--stack", "prod/../dev"}, `unknown stack "prod/../dev"`},
		{"unknown stack before any AWS call", []string{"status", "--stack", "nope"}, `--stack: unknown stack "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLIWith(t, "", tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s%s", code, ExitUsage, tt.want, errOut, out)
			}
		})
	}
}

func TestGroupWithoutSubcommandPrintsHelp(t *testing.T) {
	code, out, _ := runCLIWith(t, "", "dlq")
	if code != ExitOK || !strings.Contains(out, "redrive") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestInterruptedRunExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, []string{"status", "--local", "--endpoint", "http://127.0.0.1:1"})
	if code != ExitInterrupted || !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
}

func TestLocalWithoutLocalCloudHints(t *testing.T) {
	// A port nothing listens on: bind one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	code, _, errOut := runCLIWith(t, "", "locks", "--local", "--endpoint", endpoint)
	if code != ExitFailure || !strings.Contains(errOut, "no local cloud answers at "+endpoint) || !strings.Contains(errOut, "enrichctl local up") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestEndpointVariableWithoutLocalIsNamed(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_REGION", "us-east-1")
	_, _, errOut := runCLIWith(t, "", "locks")
	if !strings.Contains(errOut, "AWS_ENDPOINT_URL=http://127.0.0.1:1 redirects this command") {
		t.Fatalf("stderr:\n%s", errOut)
	}
}

func TestNoCredentialsIsOneClearMessage(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_REGION", "us-east-1")
	// An instance-metadata endpoint that refuses at once, as off EC2.
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
	code, _, errOut := runCLIWith(t, "", "locks")
	if code != ExitFailure || !strings.Contains(errOut, "no AWS credentials found") || strings.Contains(strings.ToLower(errOut), "imds") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}
