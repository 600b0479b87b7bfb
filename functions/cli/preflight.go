package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// lambdaConcurrencyQuota is the Service Quotas code of Lambda's "Concurrent
// executions" (Lambda Developer Guide, "Lambda quotas").
const lambdaConcurrencyQuota = "L-B99A9384"

func newPreflightCmd(o *Options) *cobra.Command {
	var accountStacks []string
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check an account before `pulumi up`: models, quotas, Lambda concurrency, buckets, settings",
		Long: "Checks, against the account and Region --stack deploys to, what a first `pulumi up` and the first\n" +
			"jobs need: the stack's settings are valid; every configured model or inference profile is\n" +
			"offered in the stack's Region, on demand, with the service tier asked; the Bedrock quotas of\n" +
			"those models cover bedrockRequestsPerMinute and bedrockTokensPerMinute; Lambda keeps 100\n" +
			"unreserved concurrent executions after the reservations of the stacks sharing the account\n" +
			"(--account-stacks); the Silver bucket and prefix are readable and the Bronze prefix writable.\n" +
			"Each check prints ✔, ✗ (blocking, with the fix) or ! (a warning). It only reads, except one\n" +
			"probe object written to and deleted from ai_enrichment/_preflight/ in Bronze. Exits 1 when a\n" +
			"check blocks the deploy.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range accountStacks {
				if err := stacks.CheckName(s); err != nil {
					return usageErr("--account-stacks: %v", err)
				}
			}
			if !slices.Contains(accountStacks, o.Stack) {
				accountStacks = append(accountStacks, o.Stack)
			}
			r := o.preflight(cmd.Context(), accountStacks)
			if err := o.output(cmd.OutOrStdout(), r, r.print); err != nil {
				return err
			}
			if cmd.Context().Err() != nil {
				return cmd.Context().Err()
			}
			if n := r.blocking(); n > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("preflight of stack %s: %s", o.Stack, blockingSummary(n))}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&accountStacks, "account-stacks", stacks.Names, "stacks deployed to the same account and Region, whose reserved concurrency counts")
	_ = cmd.RegisterFlagCompletionFunc("account-stacks", cobra.FixedCompletions(stacks.Names, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Check outcomes.
const (
	checkOK   = "ok"
	checkFail = "fail" // blocks the deploy
	checkWarn = "warn" // works, but not as configured or not verifiable
)

type check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type preflightReport struct {
	Stack  string  `json:"stack"`
	Region string  `json:"region"`
	Checks []check `json:"checks"`
}

func (r *preflightReport) add(name, result, detail, fix string) {
	r.Checks = append(r.Checks, check{Name: name, Result: result, Detail: detail, Fix: fix})
}

func (r preflightReport) blocking() int {
	n := 0
	for _, c := range r.Checks {
		if c.Result == checkFail {
			n++
		}
	}
	return n
}

func (r preflightReport) print(w io.Writer) {
	fmt.Fprintf(w, "preflight of stack %s in %s\n", r.Stack, r.Region)
	mark := map[string]string{checkOK: "✔", checkFail: "✗", checkWarn: "!"}
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%s %s: %s\n", mark[c.Result], c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", c.Fix)
		}
	}
	if n := r.blocking(); n > 0 {
		fmt.Fprintln(w, blockingSummary(n))
	} else {
		fmt.Fprintln(w, "ready to deploy")
	}
}

func blockingSummary(n int) string {
	if n == 1 {
		return "1 check blocks the deploy"
	}
	return fmt.Sprintf("%d checks block the deploy", n)
}

// preflight runs every check it can; a check that cannot run is a failure with the
// error, and the others still run.
func (o *Options) preflight(ctx context.Context, accountStacks []string) preflightReport {
	r := preflightReport{Stack: o.Stack, Checks: []check{}}
	b, path, err := stackFile(o.Stack)
	if err == nil {
		r.Region, err = stacks.Region(b)
	}
	if err != nil {
		r.add("stack file", checkFail, err.Error(), "")
		return r
	}
	if r.Region == "" {
		r.add("stack region", checkFail, path+" names no "+stacks.RegionKey, "pulumi config set --stack "+o.Stack+" "+stacks.RegionKey+" us-east-1")
		return r
	}
	s, err := stacks.Load(o.Stack, b)
	if err != nil {
		r.add("stack settings", checkFail, err.Error(), "edit "+path)
		return r
	}
	r.add("stack settings", checkOK, path+" is valid", "")
	cfg, err := o.awsConfig(ctx)
	if err != nil {
		r.add("AWS access", checkFail, err.Error(), "")
		return r
	}
	if !o.Local {
		cfg.Region = r.Region
	}
	p := preflighter{cfg: cfg, s: s, r: &r}
	p.models(ctx)
	p.lambdaConcurrency(ctx, accountStacks)
	p.buckets(ctx)
	return r
}

type preflighter struct {
	cfg aws.Config
	s   stacks.Settings
	r   *preflightReport
	// offered are the foundation models of the Region by id, nil when unknown.
	offered map[string]bedrocktypes.FoundationModelSummary
}

// models checks each distinct configured model: offered in the Region as configured,
// the service tier, structured output, then its quotas.
func (p *preflighter) models(ctx context.Context) {
	br := bedrock.NewFromConfig(p.cfg)
	out, err := br.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
	if err != nil {
		p.r.add("Bedrock models", checkFail, "list the foundation models of "+p.r.Region+": "+err.Error(), "the deploying identity needs bedrock:ListFoundationModels")
		return
	}
	p.offered = map[string]bedrocktypes.FoundationModelSummary{}
	for _, m := range out.ModelSummaries {
		p.offered[aws.ToString(m.ModelId)] = m
	}
	quotas, qerr := bedrockQuotas(ctx, servicequotas.NewFromConfig(p.cfg))
	seen := map[string]bool{}
	for i, id := range p.s.Models() {
		if seen[id] {
			continue
		}
		seen[id] = true
		key := fmt.Sprintf("modelPass%d", i+1)
		name, ok := p.offeredModel(ctx, br, key, id)
		if !ok {
			continue
		}
		p.capabilities(key, id)
		if qerr != nil {
			p.r.add("Bedrock quotas", checkWarn, "read the Bedrock quotas: "+qerr.Error(), "the deploying identity needs servicequotas:ListServiceQuotas")
			continue
		}
		p.quotas(id, name, quotas)
	}
}

// offeredModel checks that id is offered in the Region as configured and returns the
// model's display name, which its quota names end with.
func (p *preflighter) offeredModel(ctx context.Context, br *bedrock.Client, key, id string) (string, bool) {
	name := "model " + id
	fix := fmt.Sprintf("set %s:%s to a model offered in %s (aws bedrock list-foundation-models --region %s), or deploy to a Region that offers it",
		stacks.Namespace, key, p.r.Region, p.r.Region)
	if m, ok := llm.Lookup(id); ok && m.Regions != nil {
		fix += " (the model table lists " + strings.Join(m.Regions, ", ") + ")"
	}
	base := contract.StripProfilePrefix(id)
	if base != id || strings.HasPrefix(id, "arn:") {
		out, err := br.GetInferenceProfile(ctx, &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(id)})
		var missing *bedrocktypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			p.r.add(name, checkFail, "no such inference profile in "+p.r.Region, fix)
			return "", false
		case err != nil:
			p.r.add(name, checkFail, "read the inference profile: "+err.Error(), "the deploying identity needs bedrock:GetInferenceProfile")
			return "", false
		case out.Status != bedrocktypes.InferenceProfileStatusActive:
			p.r.add(name, checkFail, fmt.Sprintf("inference profile is %s in %s", out.Status, p.r.Region), fix)
			return "", false
		}
		p.r.add(name, checkOK, "inference profile offered in "+p.r.Region, "")
		for _, m := range out.Models {
			arn := aws.ToString(m.ModelArn)
			if fm, ok := p.offered[arn[strings.LastIndex(arn, "/")+1:]]; ok {
				return aws.ToString(fm.ModelName), true
			}
		}
		return "", true
	}
	m, ok := p.offered[id]
	if !ok {
		p.r.add(name, checkFail, "not offered in "+p.r.Region, fix)
		return "", false
	}
	if !slices.Contains(m.InferenceTypesSupported, bedrocktypes.InferenceTypeOnDemand) {
		p.r.add(name, checkFail, "offered in "+p.r.Region+" only through an inference profile, not on demand",
			fmt.Sprintf("set %s:%s to a cross-Region inference profile of it, such as us.%s (aws bedrock list-inference-profiles --region %s)", stacks.Namespace, key, id, p.r.Region))
		return "", false
	}
	detail := "offered on demand in " + p.r.Region
	if m.ModelLifecycle != nil && m.ModelLifecycle.Status == bedrocktypes.FoundationModelLifecycleStatusLegacy {
		p.r.add(name, checkWarn, detail+", but LEGACY: AWS will retire it", "move to its successor before the end-of-life date in the Bedrock console")
	} else {
		p.r.add(name, checkOK, detail, "")
	}
	return aws.ToString(m.ModelName), true
}

// capabilities checks what the stack asks of the model against the model table.
func (p *preflighter) capabilities(key, id string) {
	name := "model " + id
	m, ok := llm.Lookup(id)
	if !ok {
		p.r.add(name+" capabilities", checkWarn, "not in the model table: no price (costs reported unknown), no structured output, no tier check",
			"add a row to functions/llm/models.go with its sources in docs/bedrock.md")
		return
	}
	if p.s.ServiceTier != "" && !m.OffersTier(p.s.ServiceTier) {
		p.r.add(name+" service tier", checkFail, fmt.Sprintf("serviceTier %s is not offered for it (offered: %s)", p.s.ServiceTier, strings.Join(m.ServiceTiers, ", ")),
			fmt.Sprintf("unset %s:serviceTier, or set %s:%s to a model offered with %s", stacks.Namespace, stacks.Namespace, key, p.s.ServiceTier))
	} else if p.s.ServiceTier != "" {
		p.r.add(name+" service tier", checkOK, "offered with serviceTier "+p.s.ServiceTier, "")
	}
	if m.StructuredOutput {
		p.r.add(name+" structured output", checkOK, "answers are constrained to the pass's JSON schema", "")
	} else {
		p.r.add(name+" structured output", checkWarn, "not supported: the schema is in the prompt only, so more answers may fail validation", "")
	}
}

// bedrockQuotas lists Service Quotas' Bedrock quotas.
func bedrockQuotas(ctx context.Context, sq *servicequotas.Client) ([]sqtypes.ServiceQuota, error) {
	var out []sqtypes.ServiceQuota
	pages := servicequotas.NewListServiceQuotasPaginator(sq, &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("bedrock")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Quotas...)
	}
	return out, nil
}

// quotas compares the stack's request and token rates with the model's quotas, named
// "On-demand InvokeModel requests|tokens per minute for <model>" (or "Cross-Region …"
// for an inference profile): Bedrock User Guide, "Quotas for the bedrock-runtime
// endpoint".
func (p *preflighter) quotas(id, modelName string, all []sqtypes.ServiceQuota) {
	scope := "on-demand"
	if contract.StripProfilePrefix(id) != id {
		scope = "cross-region"
	}
	for _, q := range []struct {
		unit    string
		setting string
		value   int
	}{
		{"requests per minute", "bedrockRequestsPerMinute", p.s.BedrockRPM},
		{"tokens per minute", "bedrockTokensPerMinute", p.s.BedrockTPM},
	} {
		name := fmt.Sprintf("Bedrock %s quota of %s", q.unit, id)
		quota, ok := findQuota(all, scope, q.unit, modelName)
		switch {
		case !ok || modelName == "":
			p.r.add(name, checkWarn, fmt.Sprintf("no %s %s quota found for %q", scope, q.unit, modelName),
				"compare "+q.setting+" with the Bedrock quotas in the Service Quotas console")
		case q.value == 0:
			p.r.add(name, checkWarn, fmt.Sprintf("%s is unset; the account allows %s", q.setting, quotaValue(quota)),
				fmt.Sprintf("pulumi config set --stack %s %s:%s %s, so validation and plan see it", p.s.Stack, stacks.Namespace, q.setting, quotaValue(quota)))
		case float64(q.value) > aws.ToFloat64(quota.Value):
			p.r.add(name, checkFail, fmt.Sprintf("%s is %d but the account allows %s: the stack would be throttled", q.setting, q.value, quotaValue(quota)),
				fmt.Sprintf("lower %s to %s, or request an increase: aws service-quotas request-service-quota-increase --service-code bedrock --quota-code %s --desired-value %d --region %s",
					q.setting, quotaValue(quota), aws.ToString(quota.QuotaCode), q.value, p.r.Region))
		default:
			p.r.add(name, checkOK, fmt.Sprintf("%s %d within the account's %s", q.setting, q.value, quotaValue(quota)), "")
		}
	}
}

func findQuota(all []sqtypes.ServiceQuota, scope, unit, modelName string) (sqtypes.ServiceQuota, bool) {
	suffix := " for " + strings.ToLower(modelName)
	for _, q := range all {
		n := strings.ToLower(aws.ToString(q.QuotaName))
		if strings.HasPrefix(n, scope) && strings.Contains(n, unit) && (strings.HasSuffix(n, suffix) || strings.HasSuffix(n, " "+strings.ToLower(modelName))) {
			return q, true
		}
	}
	return sqtypes.ServiceQuota{}, false
}

func quotaValue(q sqtypes.ServiceQuota) string {
	return strconv.FormatFloat(aws.ToFloat64(q.Value), 'f', -1, 64)
}

// lambdaConcurrency checks that Lambda keeps its 100 unreserved executions once the
// stacks sharing the account reserve theirs (stacks.AccountConcurrency).
func (p *preflighter) lambdaConcurrency(ctx context.Context, accountStacks []string) {
	const name = "Lambda concurrency"
	lc := lambda.NewFromConfig(p.cfg)
	acct, err := lc.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		p.r.add(name, checkFail, "read the account settings: "+err.Error(), "the deploying identity needs lambda:GetAccountSettings")
		return
	}
	var sharing []stacks.Settings
	var names []string
	ac := stacks.AccountConcurrency{Unreserved: int(aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions))}
	for _, st := range accountStacks {
		s := p.s
		if st != p.s.Stack {
			if s, err = stackSettings(st); err != nil {
				p.r.add(name, checkWarn, fmt.Sprintf("stack %s left out: %v", st, err), "")
				continue
			}
		}
		sharing = append(sharing, s)
		names = append(names, fmt.Sprintf("%s %d", st, s.ReservedConcurrency()))
		fn := contract.NamesFor(st).EnrichFunction
		out, err := lc.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(fn)})
		var missing *lambdatypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing): // not deployed yet: it reserves nothing today
		case err != nil:
			p.r.add(name, checkFail, "read the reserved concurrency of "+fn+": "+err.Error(), "the deploying identity needs lambda:GetFunctionConcurrency")
			return
		case out.ReservedConcurrentExecutions != nil:
			ac.ReservedToday += int(*out.ReservedConcurrentExecutions)
		}
	}
	limit := int(acct.AccountLimit.ConcurrentExecutions)
	detail := fmt.Sprintf("account limit %d, %d unreserved; EnrichPartition reserves %s; Lambda keeps %d unreserved",
		limit, ac.Unreserved, strings.Join(names, ", "), stacks.UnreservedConcurrencyFloor)
	if short := ac.Shortfall(sharing); short > 0 {
		p.r.add(name, checkFail, fmt.Sprintf("%s: %d short, so PutFunctionConcurrency would fail", detail, short),
			fmt.Sprintf("request a higher Lambda concurrency: aws service-quotas request-service-quota-increase --service-code lambda --quota-code %s --desired-value %d --region %s (or lower maxConcurrentExecutions)",
				lambdaConcurrencyQuota, limit+short, p.r.Region))
		return
	}
	p.r.add(name, checkOK, detail, "")
}

// buckets checks that Silver's prefix can be listed and read and Bronze's written.
func (p *preflighter) buckets(ctx context.Context) {
	client := s3.NewFromConfig(p.cfg, func(so *s3.Options) {
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	silverName := fmt.Sprintf("Silver s3://%s/%s", p.s.SilverBucket, p.s.SilverPrefix)
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(p.s.SilverBucket), Prefix: aws.String(p.s.SilverPrefix), MaxKeys: aws.Int32(1)})
	switch {
	case err != nil:
		p.r.add(silverName, checkFail, "cannot list: "+err.Error(), "check silverBucket and silverPrefix, and that the deploying identity may s3:ListBucket there")
	case len(list.Contents) == 0:
		p.r.add(silverName, checkWarn, "readable but empty: discovery finds nothing until Silver lands there", "check silverPrefix against where Spark writes")
	default:
		key := aws.ToString(list.Contents[0].Key)
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.s.SilverBucket), Key: aws.String(key), Range: aws.String("bytes=0-0")})
		if err != nil {
			p.r.add(silverName, checkFail, "listed but cannot read "+key+": "+err.Error(), "allow s3:GetObject on the prefix (and kms:Decrypt for an SSE-KMS key)")
			break
		}
		obj.Body.Close()
		p.r.add(silverName, checkOK, "listed and read "+key, "")
	}
	bronzeName := fmt.Sprintf("Bronze s3://%s/%s", p.s.BronzeBucket, contract.BronzePrefix)
	probe := contract.BronzePrefix + "_preflight/probe-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(p.s.BronzeBucket), Key: aws.String(probe), Body: bytes.NewReader([]byte("preflight\n")), IfNoneMatch: aws.String("*")})
	if err != nil {
		p.r.add(bronzeName, checkFail, "cannot write: "+err.Error(), "check bronzeBucket, and that the deploying identity may s3:PutObject under "+contract.BronzePrefix)
		return
	}
	if _, err := client.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(p.s.BronzeBucket), Key: aws.String(probe)}); err != nil {
		p.r.add(bronzeName, checkWarn, "written, but the probe s3://"+p.s.BronzeBucket+"/"+probe+" could not be deleted: "+err.Error(), "delete it by hand")
		return
	}
	p.r.add(bronzeName, checkOK, "writable (a probe object was written and deleted)", "")
}
