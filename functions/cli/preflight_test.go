package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// preflightAccount makes the package's local cloud an account ready for the dev stack
// and returns its control plane; changes a test makes are undone after it.
func preflightAccount(t *testing.T) *localcloud.ControlPlane {
	t.Helper()
	localStack(t)
	cp := localcloud.Shared(t).ControlPlane()
	reset := func() {
		cp.SetAccount(localcloud.AccountLimit{ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000})
		cp.Offer(stacks.DefaultModel)
	}
	reset()
	t.Cleanup(reset)
	return cp
}

// preflightRun runs preflight on the dev stack and returns the exit code and checks by name.
func preflightRun(t *testing.T, args ...string) (int, map[string]check) {
	t.Helper()
	var r preflightReport
	code, out, errOut := runCLIWith(t, "", append([]string{"preflight", "--local", "--json", "--account-stacks", "dev"}, args...)...)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not a report: %v\n%s\n%s", err, out, errOut)
	}
	checks := map[string]check{}
	for _, c := range r.Checks {
		checks[c.Name] = c
	}
	return code, checks
}

// wantCheck fails unless the named check has the result and its detail or fix holds want.
func wantCheck(t *testing.T, checks map[string]check, name, result, want string) {
	t.Helper()
	c, ok := checks[name]
	if !ok {
		t.Fatalf("no check %q in %v", name, checks)
	}
	if c.Result != result || !strings.Contains(c.Detail+" "+c.Fix, want) {
		t.Fatalf("check %q = %+v, want %s with %q", name, c, result, want)
	}
}

func TestPreflightReady(t *testing.T) {
	preflightAccount(t)
	code, checks := preflightRun(t)
	if code != ExitOK {
		t.Fatalf("exit %d: %v", code, checks)
	}
	model := "model " + stacks.DefaultModel
	wantCheck(t, checks, "stack settings", checkOK, "Pulumi.dev.yaml is valid")
	wantCheck(t, checks, model, checkOK, "offered on demand in us-east-1")
	wantCheck(t, checks, model+" structured output", checkOK, "schema")
	wantCheck(t, checks, "Bedrock requests per minute quota of "+stacks.DefaultModel, checkOK, "bedrockRequestsPerMinute 100 within the account's 10000")
	wantCheck(t, checks, "Bedrock tokens per minute quota of "+stacks.DefaultModel, checkWarn, "bedrockTokensPerMinute is unset; the account allows 10000000")
	wantCheck(t, checks, "Lambda concurrency", checkOK, "EnrichPartition reserves dev 7")
	wantCheck(t, checks, "Bronze s3://data-engineer-jobs-bronze-dev/ai_enrichment/", checkOK, "writable")
	if c := checks["Silver s3://data-engineer-jobs-silver-dev/linkedin/"]; c.Result == checkFail {
		t.Fatalf("silver: %+v", c)
	}
}

func TestPreflightFailures(t *testing.T) {
	model := "model " + stacks.DefaultModel
	tests := []struct {
		name    string
		breakIt func(cp *localcloud.ControlPlane)
		check   string
		want    string
	}{
		{"model not offered in the region", func(cp *localcloud.ControlPlane) { cp.RemoveModel("openai.gpt-oss-120b-1:0") },
			model, "not offered in us-east-1"},
		{"model only through a profile", func(cp *localcloud.ControlPlane) {
			cp.SetModel(localcloud.FoundationModel{ID: "openai.gpt-oss-120b-1:0", Name: "gpt-oss-120b", InferenceTypes: []string{"INFERENCE_PROFILE"}, Lifecycle: "ACTIVE"})
		}, model, "us.openai.gpt-oss-120b-1:0"},
		{"request quota below the setting", func(cp *localcloud.ControlPlane) {
			cp.SetQuota(localcloud.Quota{Code: "L-RPM-openai.gpt-oss-120b-1:0", Name: "On-demand InvokeModel requests per minute for gpt-oss-120b", Value: 50})
		}, "Bedrock requests per minute quota of " + stacks.DefaultModel, "lower bedrockRequestsPerMinute to 50"},
		// dev reserves 7 today (localrun.Deploy), which its redeploy gives back: 50 + 7 − 7
		// leaves 50 unreserved, 50 short of the 100 Lambda keeps.
		{"no unreserved concurrency left", func(cp *localcloud.ControlPlane) {
			cp.SetAccount(localcloud.AccountLimit{ConcurrentExecutions: 50, UnreservedConcurrentExecutions: 50})
		}, "Lambda concurrency", "50 short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := preflightAccount(t)
			tt.breakIt(cp)
			code, checks := preflightRun(t)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d: %v", code, ExitFailure, checks)
			}
			wantCheck(t, checks, tt.check, checkFail, tt.want)
		})
	}
}

// TestPreflightStackFileFailures runs preflight on stack files written for the test
// (found through ENRICHCTL_REPO): each breaks one check.
func TestPreflightStackFileFailures(t *testing.T) {
	const buckets = "  ai-enrichment:silverBucket: data-engineer-jobs-silver-dev\n  ai-enrichment:bronzeBucket: data-engineer-jobs-bronze-dev\n"
	tests := []struct {
		name  string
		file  string
		check string
		want  string
	}{
		{"invalid settings", "  aws:region: us-east-1\n" + buckets + "  ai-enrichment:sqsBatchSize: 11\n",
			"stack settings", "sqsBatchSize: is 11"},
		{"no region", buckets, "stack region", "names no aws:region"},
		{"tier the model lacks", "  aws:region: us-east-1\n" + buckets + "  ai-enrichment:serviceTier: flex\n  ai-enrichment:modelPass3: openai.gpt-oss-20b-1:0\n",
			"model openai.gpt-oss-20b-1:0 service tier", "serviceTier flex is not offered"},
		{"inference profile not offered", "  aws:region: us-east-1\n" + buckets + "  ai-enrichment:modelPass2: us.anthropic.claude-haiku-4-5-20251001-v1:0\n",
			"model us.anthropic.claude-haiku-4-5-20251001-v1:0", "no such inference profile in us-east-1"},
		{"missing buckets", "  aws:region: us-east-1\n  ai-enrichment:silverBucket: no-such-silver\n  ai-enrichment:bronzeBucket: no-such-bronze\n",
			"Bronze s3://no-such-bronze/ai_enrichment/", "cannot write"},
		{"missing silver", "  aws:region: us-east-1\n  ai-enrichment:silverBucket: no-such-silver\n  ai-enrichment:bronzeBucket: data-engineer-jobs-bronze-dev\n",
			"Silver s3://no-such-silver/linkedin/", "cannot list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := preflightAccount(t)
			cp.Offer("openai.gpt-oss-20b-1:0")
			dir := t.TempDir()
			for name, body := range map[string]string{"Pulumi.yaml": "name: ai-enrichment\n", "Pulumi.dev.yaml": "config:\n" + tt.file} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv(EnvRepo, dir)
			code, checks := preflightRun(t)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d: %v", code, ExitFailure, checks)
			}
			wantCheck(t, checks, tt.check, checkFail, tt.want)
		})
	}
}
