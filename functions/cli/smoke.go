package cli

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// smokePosting is the posting a smoke test enriches; its id is replaced per run.
//
//go:embed smoke_posting.json
var smokePosting []byte

// smokePoll is how often a smoke test looks at its execution.
const smokePoll = 2 * time.Second

func newSmokeCmd(o *Options) *cobra.Command {
	var (
		timeout time.Duration
		keep    bool
	)
	cmd := &cobra.Command{
		Use:   "smoke",
		Short: "After `pulumi up`: enrich one bundled posting end to end, check what it wrote, then remove it",
		Long: "Starts one execution of the deployed state machine for a bundled sample posting with a fresh\n" +
			"job id (9 followed by 19 digits; nothing is written to Silver), waits for it, and checks that\n" +
			"it SUCCEEDED, that the status row is COMPLETED with three passes, that each pass's Bronze\n" +
			"document and raw text exist, and that the execution's slot was released. It reports the\n" +
			"timings and the model cost (real Bedrock calls: about a cent), then deletes the job's Bronze\n" +
			"objects and status row (--keep leaves them). The execution's history stays in Step Functions.\n" +
			"Exits 1 when a check fails; an execution still running at --timeout is stopped.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.smoke(cmd.Context(), s, smokeJobID(time.Now()), timeout, keep)
			if perr := o.output(cmd.OutOrStdout(), r, r.print); perr != nil {
				return perr
			}
			if err != nil {
				return err
			}
			if n := failed(r.Checks); n > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("smoke test of stack %s: %s failed", o.Stack, plural(n, "check"))}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "stop the execution and fail after this long")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the job's Bronze objects and status row for inspection")
	return cmd
}

// smokeJobID is a valid job id no LinkedIn posting has: 20 digits starting with 9.
func smokeJobID(now time.Time) string {
	return fmt.Sprintf("9%019d", now.UnixNano())
}

type smokePass struct {
	Pass           contract.Pass   `json:"pass"`
	Model          string          `json:"model"`
	Tokens         contract.Tokens `json:"tokens"`
	CostUSD        float64         `json:"cost_usd"`
	CostKnown      bool            `json:"cost_known"`
	ModelLatencyMs int64           `json:"model_latency_ms"`
	TotalMs        int64           `json:"total_ms"`
	BronzeKey      string          `json:"bronze_key"`
}

type smokeReport struct {
	Stack           string      `json:"stack"`
	JobPostingID    string      `json:"job_posting_id"`
	Execution       string      `json:"execution"`
	ExecutionARN    string      `json:"execution_arn"`
	ExecutionStatus string      `json:"execution_status"`
	StartedAt       string      `json:"started_at"`
	WallSeconds     float64     `json:"wall_seconds"`
	Passes          []smokePass `json:"passes"`
	CostUSD         float64     `json:"cost_usd"`
	CostKnown       bool        `json:"cost_known"`
	Checks          []check     `json:"checks"`
	Removed         []string    `json:"removed"` // what the cleanup deleted
	Kept            bool        `json:"kept"`
}

func (r *smokeReport) add(name string, ok bool, detail string) {
	res := checkOK
	if !ok {
		res = checkFail
	}
	r.Checks = append(r.Checks, check{Name: name, Result: res, Detail: detail})
}

func failed(cs []check) int {
	n := 0
	for _, c := range cs {
		if c.Result == checkFail {
			n++
		}
	}
	return n
}

// smoke runs one job through the deployed pipeline. Its error is for what stopped
// the test itself; the checks hold what the pipeline did.
func (t *target) smoke(ctx context.Context, s stacks.Settings, id string, timeout time.Duration, keep bool) (r smokeReport, err error) {
	r = smokeReport{Stack: t.names.Stack, JobPostingID: id, Passes: []smokePass{}, Checks: []check{}, Removed: []string{}, Kept: keep, CostKnown: true}
	var posting contract.Posting
	if err := json.Unmarshal(smokePosting, &posting); err != nil {
		return r, fmt.Errorf("bundled posting: %w", err)
	}
	posting.JobPostingID = id
	store := bronze.New(t.s3, s.BronzeBucket)
	// Whatever happens from here on, what the test wrote is removed (into the named
	// result, so the report lists it).
	defer func() {
		if !keep {
			r.Removed = t.removeJob(context.WithoutCancel(ctx), s.BronzeBucket, id)
		}
	}()
	var key string
	key, err = store.PutPosting(ctx, posting)
	if err != nil {
		return r, err
	}
	smARN, err := t.stateMachineARN(ctx)
	if err != nil {
		return r, err
	}
	r.Execution = contract.ExecutionName(id, "smoke")
	if r.ExecutionARN, err = cleanup.ExecutionARN(smARN, r.Execution); err != nil {
		return r, err
	}
	start := time.Now()
	r.StartedAt = timestamp(start)
	if _, err := invoke.Start(ctx, t.sfn, smARN, r.Execution, contract.QueueMessage{Job: contract.JobRef{JobPostingID: id, PostingKey: key}}); err != nil {
		return r, err
	}
	var exec *sfn.DescribeExecutionOutput
	exec, err = t.waitExecution(ctx, r.ExecutionARN, timeout)
	r.WallSeconds = round(time.Since(start).Seconds(), 1)
	if err != nil {
		return r, err
	}
	r.ExecutionStatus = string(exec.Status)
	detail := fmt.Sprintf("%s in %.1fs", exec.Status, r.WallSeconds)
	if exec.Status != sfntypes.ExecutionStatusSucceeded {
		detail += fmt.Sprintf(": %s: %s", aws.ToString(exec.Error), clip(aws.ToString(exec.Cause)))
	}
	r.add("execution", exec.Status == sfntypes.ExecutionStatusSucceeded, detail)
	t.checkJob(ctx, store, id, &r)
	t.checkSlot(ctx, r.Execution, &r)
	return r, nil
}

// waitExecution polls until the execution ends; at the timeout it stops it.
func (t *target) waitExecution(ctx context.Context, arn string, timeout time.Duration) (*sfn.DescribeExecutionOutput, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := t.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err == nil && out.Status != sfntypes.ExecutionStatusRunning {
			return out, nil
		}
		if err == nil && time.Now().After(deadline) {
			serr := t.stop(context.WithoutCancel(ctx), arn, "SmokeTimeout", "enrichctl smoke gave up after "+timeout.String())
			return nil, errors.Join(fmt.Errorf("execution still running after %s: stopped it (look at it in the console: %s)", timeout, arn), serr)
		}
		if err != nil {
			return nil, fmt.Errorf("describe the smoke execution: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = t.stop(context.WithoutCancel(ctx), arn, "SmokeInterrupted", "enrichctl smoke was interrupted")
			return nil, ctx.Err()
		case <-time.After(smokePoll):
		}
	}
}

// stop stops the execution and waits (bounded) until it has ended, so what it wrote
// is removed after its last write.
func (t *target) stop(ctx context.Context, arn, code, cause string) error {
	if _, err := t.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String(code), Cause: aws.String(cause)}); err != nil {
		return fmt.Errorf("stop the smoke execution: %w", err)
	}
	for range 30 {
		out, err := t.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil || out.Status != sfntypes.ExecutionStatusRunning {
			return err
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("the smoke execution %s was stopped but still runs", arn)
}

// checkJob checks the status row and each pass's Bronze objects, and collects the
// timings and cost from the Bronze metadata.
func (t *target) checkJob(ctx context.Context, store *bronze.Store, id string, r *smokeReport) {
	j, err := t.status.Get(ctx, id)
	if err != nil {
		r.add("status row", false, err.Error())
		return
	}
	missing := []string{}
	for _, p := range contract.Passes {
		if rec, ok := j.Passes[p]; !ok || rec.Status != contract.StatusCompleted {
			missing = append(missing, string(p))
		}
	}
	detail := fmt.Sprintf("%s, %d of %d passes recorded COMPLETED", j.Overall, len(contract.Passes)-len(missing), len(contract.Passes))
	if len(missing) > 0 {
		detail += " (missing " + strings.Join(missing, ", ") + ")"
	}
	if j.LastError != nil {
		detail += fmt.Sprintf("; last error at %s: %s", j.LastError.Step, j.LastError.Error)
	}
	r.add("status row", j.Overall == contract.StatusCompleted && len(missing) == 0, detail)
	for _, p := range contract.Passes {
		rec, ok := j.Passes[p]
		if !ok || rec.BronzeKey == "" {
			continue
		}
		r.Passes = append(r.Passes, t.checkBronze(ctx, store, p, rec, r))
	}
}

func (t *target) checkBronze(ctx context.Context, store *bronze.Store, p contract.Pass, rec status.Pass, r *smokeReport) smokePass {
	sp := smokePass{Pass: p, Model: rec.Model, BronzeKey: rec.BronzeKey}
	name := "Bronze " + string(p)
	doc, found, err := store.Get(ctx, rec.BronzeKey)
	switch {
	case err != nil:
		r.add(name, false, err.Error())
		return sp
	case !found:
		r.add(name, false, "no document at "+rec.BronzeKey)
		return sp
	}
	m := doc.Doc.Metadata
	sp.Tokens, sp.CostUSD, sp.CostKnown, sp.ModelLatencyMs, sp.TotalMs = m.Tokens, m.CostUSD, m.CostKnown, m.ModelLatencyMs, m.TotalMs
	r.CostUSD = round(r.CostUSD+m.CostUSD, 6)
	r.CostKnown = r.CostKnown && m.CostKnown
	raw := contract.BronzeRawKey(r.JobPostingID, p, rec.Model)
	if _, err := t.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(store.Bucket()), Key: aws.String(raw)}); err != nil {
		r.add(name, false, "document "+rec.BronzeKey+" but no raw text at "+raw+": "+err.Error())
		return sp
	}
	r.add(name, true, rec.BronzeKey+" and its raw text")
	return sp
}

// checkSlot checks that the execution no longer holds a semaphore slot.
func (t *target) checkSlot(ctx context.Context, execution string, r *smokeReport) {
	sem, err := t.sem.Read(ctx)
	if err != nil {
		r.add("slot", false, err.Error())
		return
	}
	for _, h := range sem.Holders {
		if h.Execution == execution {
			r.add("slot", false, "the execution still holds a slot: run `enrichctl reconcile`")
			return
		}
	}
	r.add("slot", true, fmt.Sprintf("released (%d of %d in use)", sem.Count, sem.Max))
}

// removeJob deletes the job's Bronze objects and status row, and lists what it removed.
func (t *target) removeJob(ctx context.Context, bucket, id string) []string {
	removed := []string{}
	prefix := contract.BronzePrefix + id + "/"
	pages := s3.NewListObjectsV2Paginator(t.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			fmt.Fprintf(t.warn, "enrichctl: list s3://%s/%s to remove it: %v\n", bucket, prefix, err)
			break
		}
		var objs []s3types.ObjectIdentifier
		for _, o := range page.Contents {
			objs = append(objs, s3types.ObjectIdentifier{Key: o.Key})
		}
		if len(objs) == 0 {
			break
		}
		if _, err := t.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)}}); err != nil {
			fmt.Fprintf(t.warn, "enrichctl: delete under s3://%s/%s: %v\n", bucket, prefix, err)
			break
		}
		for _, o := range objs {
			removed = append(removed, "s3://"+bucket+"/"+aws.ToString(o.Key))
		}
	}
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.names.StatusTable),
		Key:       map[string]dbtypes.AttributeValue{contract.StatusKey: &dbtypes.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		fmt.Fprintf(t.warn, "enrichctl: delete the status row of %s: %v\n", id, err)
	} else {
		removed = append(removed, t.names.StatusTable+" item "+id)
	}
	return removed
}

func (r smokeReport) print(w io.Writer) {
	fmt.Fprintf(w, "smoke test of stack %s: job %s, execution %s\n", r.Stack, r.JobPostingID, r.Execution)
	mark := map[string]string{checkOK: "✔", checkFail: "✗"}
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%s %s: %s\n", mark[c.Result], c.Name, c.Detail)
	}
	for _, p := range r.Passes {
		fmt.Fprintf(w, "  %s %s: %d+%d tokens, model %dms, pass %dms, %s\n", p.Pass, p.Model, p.Tokens.Input, p.Tokens.Output, p.ModelLatencyMs, p.TotalMs, costText(p.CostUSD, p.CostKnown))
	}
	if len(r.Passes) > 0 {
		fmt.Fprintf(w, "  total %.1fs, %s\n", r.WallSeconds, costText(r.CostUSD, r.CostKnown))
	}
	switch {
	case r.Kept:
		fmt.Fprintf(w, "kept the job's Bronze objects (%s%s/) and status row\n", contract.BronzePrefix, r.JobPostingID)
	case len(r.Removed) > 0:
		fmt.Fprintf(w, "removed %s; the execution's history stays in Step Functions\n", plural(len(r.Removed), "object"))
	}
}

func costText(usd float64, known bool) string {
	if !known {
		return "cost unknown (a model has no price)"
	}
	return fmt.Sprintf("$%.5f", usd)
}
