package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// runPassResult is what `enrichctl run-pass` prints.
type runPassResult struct {
	Status        string          `json:"status"`
	Section       string          `json:"section"`
	Result        json.RawMessage `json:"result"`
	Issues        []enrich.Issue  `json:"issues"`
	ModelID       string          `json:"model_id"`
	PromptVersion string          `json:"prompt_version"`
	StopReason    string          `json:"stop_reason"`
	ModelCalls    int             `json:"model_calls"`
	Tokens        contract.Tokens `json:"tokens"`
	CostUSD       float64         `json:"cost_usd"`
	LatencyMs     int64           `json:"latency_ms"`
	Endpoint      string          `json:"endpoint"`
}

func newRunPassCmd(o *Options) *cobra.Command {
	var passName, jobFile, modelID, effort string
	var previous []string
	var dry bool
	cmd := &cobra.Command{
		Use:   "run-pass --pass P --job job.json [--model ID] [--reasoning-effort E] [--previous pass1=FILE] [--dry-run]",
		Short: "Run one pass of one posting against Bedrock (or the local emulator with --local)",
		Long: "Builds the pass's prompt from a posting (JSON with job_posting_id, job_title, company_name,\n" +
			"job_location, job_description_text), asks the model exactly as EnrichPartition does (one retry\n" +
			"for truncated or JSON-less answers) and prints the parsed result with tokens and cost.\n" +
			"Nothing is written to Bronze. --local uses AWS_ENDPOINT_URL when set, otherwise an in-process\n" +
			"Bedrock emulator with the offline model. pass2 and pass3 need the earlier results: give each\n" +
			"with --previous passN=FILE (a Bronze document or a bare result object).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, err := contract.ParsePass(passName)
			if err != nil {
				return usageErr("--pass: %v", err)
			}
			posting, err := readPosting(cmd, jobFile)
			if err != nil {
				return err
			}
			prev, err := readPrevious(cmd, pass, previous)
			if err != nil {
				return err
			}
			s, err := o.settings()
			if err != nil {
				// A posting can be tried without the checkout: the stack's defaults then.
				if s, err = stacks.Defaults(o.Stack); err != nil {
					return usageErr("--stack: %v", err)
				}
				fmt.Fprintf(o.stderr(), "enrichctl: stack file of %s not found: using its defaults\n", o.Stack)
			}
			if modelID == "" {
				modelID = s.Models()[slices.Index(contract.Passes, pass)]
			}
			effort, err := passEffort(modelID, effort, s.ReasoningEfforts()[slices.Index(contract.Passes, pass)])
			if err != nil {
				return err
			}
			req, err := enrich.BuildRequest(pass, posting, prev, enrichpartition.TargetFor(modelID, effort))
			if err != nil {
				return usageErr("%v", err)
			}
			if dry {
				d, err := captureRequest(cmd.Context(), modelID, req)
				if err != nil {
					return err
				}
				return printJSON(cmd, d)
			}
			cfg, endpoint, stop, err := o.runPassConfig(cmd.Context())
			if err != nil {
				return err
			}
			defer stop()
			client := llm.New(llm.NewRuntime(cfg, llm.RuntimeOptions{}), llm.Options{})
			o, err := enrichpartition.Ask(cmd.Context(), client, modelID, "", req)
			if err != nil && o.Calls == 0 {
				return err
			}
			cost, _ := llm.Cost(modelID, o.Tokens)
			res := runPassResult{
				Status: o.Parsed.Status, Section: o.Parsed.Section, Result: o.Parsed.Result, Issues: o.Parsed.Issues,
				ModelID: modelID, PromptVersion: req.PromptVersion, StopReason: o.Answer.StopReason,
				ModelCalls: o.Calls, Tokens: o.Tokens, CostUSD: cost, LatencyMs: o.Latency.Milliseconds(), Endpoint: endpoint,
			}
			if perr := printJSON(cmd, res); perr != nil {
				return perr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&passName, "pass", "", "pass1, pass2 or pass3")
	_ = cmd.RegisterFlagCompletionFunc("pass", completePasses)
	cmd.Flags().StringVar(&jobFile, "job", "", "posting JSON file, or - for stdin")
	cmd.Flags().StringVar(&modelID, "model", "", "Bedrock model id (default: the stack's model for the pass)")
	cmd.Flags().StringArrayVar(&previous, "previous", nil, "earlier pass result as passN=FILE (repeatable)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the exact Converse request (JSON), its input tokens and reserved maxTokens; call no model")
	cmd.Flags().StringVar(&effort, "reasoning-effort", "", "low, medium, high or none (default: the stack's setting for the pass, none for models without an effort)")
	_ = cmd.MarkFlagRequired("pass")
	_ = cmd.MarkFlagRequired("job")
	return cmd
}

// passEffort resolves a reasoning effort asked for on the command line: "none" sends
// none, "" takes the stack's effort for the pass (stackEffort) when the model takes
// one, anything else must be an effort the model takes.
func passEffort(modelID, asked, stackEffort string) (string, error) {
	switch asked {
	case "none":
		return "", nil
	case "":
		if enrichpartition.CheckReasoningEffort(modelID, stackEffort) != nil {
			return "", nil
		}
		return stackEffort, nil
	}
	if err := enrichpartition.CheckReasoningEffort(modelID, asked); err != nil {
		return "", usageErr("reasoning effort: %v", err)
	}
	return asked, nil
}

func readPosting(cmd *cobra.Command, name string) (contract.Posting, error) {
	var p contract.Posting
	raw, err := readInput(cmd.InOrStdin(), name)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, usageErr("--job %s: not a posting JSON object: %v", name, err)
	}
	if err := contract.ValidateJobID(p.JobPostingID); err != nil {
		return p, usageErr("--job %s: %v", name, err)
	}
	if strings.TrimSpace(p.DescriptionText) == "" {
		return p, usageErr("--job %s: job_description_text is empty", name)
	}
	return p, nil
}

// readPrevious loads the results the pass builds on; a Bronze document is unwrapped
// to its result.
func readPrevious(cmd *cobra.Command, pass contract.Pass, specs []string) (map[contract.Pass]json.RawMessage, error) {
	out := map[contract.Pass]json.RawMessage{}
	for _, s := range specs {
		name, file, ok := strings.Cut(s, "=")
		p, err := contract.ParsePass(name)
		if !ok || err != nil {
			return nil, usageErr("--previous %q: want passN=FILE", s)
		}
		raw, err := readInput(cmd.InOrStdin(), file)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(raw, &doc) == nil && len(doc.Result) > 0 {
			raw = doc.Result
		}
		if !json.Valid(raw) {
			return nil, usageErr("--previous %s: not JSON", file)
		}
		out[p] = raw
	}
	for _, p := range contract.Passes {
		if p == pass {
			break
		}
		if out[p] == nil {
			return nil, usageErr("%s needs the %s result: --previous %s=FILE", pass, p, p)
		}
	}
	return out, nil
}

// runPassConfig returns the SDK configuration for the model call and what to stop
// afterwards: real AWS, a running local cloud, or an in-process emulator.
//
// --local uses the local cloud's endpoint as every command does (--endpoint,
// AWS_ENDPOINT_URL, else the default); only when none is named and nothing listens at
// the default does it start the emulator in-process.
func (o *Options) runPassConfig(ctx context.Context) (aws.Config, string, func(), error) {
	named := o.Endpoint != "" || os.Getenv(contract.EnvAWSEndpointURL) != ""
	if !o.Local || named || listening(o.localEndpoint()) {
		cfg, err := o.awsConfig(ctx)
		endpoint := aws.ToString(cfg.BaseEndpoint)
		if endpoint == "" {
			endpoint = "aws"
		}
		return cfg, endpoint, func() {}, err
	}
	srv := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Offline: offline.Answer}))
	cfg, err := endpointConfig(ctx, srv.URL)
	if err != nil {
		srv.Close()
		return cfg, "", nil, fmt.Errorf("local emulator: %w", err)
	}
	return cfg, srv.URL + " (offline model)", srv.Close, nil
}

// listening reports whether something accepts connections at the endpoint's address.
func listening(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// printJSON writes v as indented JSON.
func printJSON(cmd *cobra.Command, v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
	return err
}
