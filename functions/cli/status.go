package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

func newStatusCmd(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Jobs per status, slots in use and their holders, queue and DLQ depth",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.report(cmd.Context())
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
}

// target is the deployed stack a command operates: SDK clients on the selected
// cloud and the resource names of --stack.
type target struct {
	local  bool // the local cloud: fixed account, no CloudWatch
	warn   io.Writer
	names  contract.Names
	cfg    aws.Config
	db     *dynamodb.Client
	sfn    *sfn.Client
	sqs    *sqs.Client
	s3     *s3.Client
	status *status.Store
	sem    *semaphore.Semaphore
}

func (o *Options) connect(ctx context.Context) (*target, error) {
	cfg, err := o.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	n := o.names()
	db := dynamodb.NewFromConfig(cfg)
	return &target{
		local: o.Local,
		warn:  o.stderr(),
		names: n,
		cfg:   cfg,
		db:    db,
		sfn:   sfn.NewFromConfig(cfg),
		sqs:   sqs.NewFromConfig(cfg),
		s3: s3.NewFromConfig(cfg, func(so *s3.Options) {
			if o.Local { // moto sends no response checksums: do not log their absence
				so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		}),
		status: status.New(db, n.StatusTable),
		sem:    semaphore.New(db, n.SemaphoreTable),
	}, nil
}

// stateMachineARN is derived from the name and the account: the local cloud's fixed
// account, or the caller's account and partition in AWS.
func (t *target) stateMachineARN(ctx context.Context) (string, error) {
	partition, region, account := "aws", localcloud.Region, localcloud.AccountID
	if !t.local {
		id, err := sts.NewFromConfig(t.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", fmt.Errorf("find the AWS account: %w", err)
		}
		account, region = aws.ToString(id.Account), t.cfg.Region
		if parts := strings.SplitN(aws.ToString(id.Arn), ":", 3); len(parts) == 3 {
			partition = parts[1]
		}
	}
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", partition, region, account, t.names.StateMachine), nil
}

func (t *target) queueURL(ctx context.Context, name string) (string, error) {
	out, err := t.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("queue %s of stack %s: %w", name, t.names.Stack, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// executionStatus is the Step Functions status of a named execution, UNKNOWN when
// Step Functions does not know it (never started, or expired).
func (t *target) executionStatus(ctx context.Context, smARN, name string) (arn, st string, err error) {
	arn, err = cleanup.ExecutionARN(smARN, name)
	if err != nil {
		return "", "", err
	}
	out, err := t.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return arn, string(cleanup.StatusUnknown), nil
	case err != nil:
		return "", "", fmt.Errorf("describe execution %s: %w", name, err)
	}
	return arn, string(out.Status), nil
}

// holder is a slot holder with the state of its execution.
type holder struct {
	Execution  string `json:"execution"`
	AcquiredAt string `json:"acquired_at"` // timestamp's format, like every time in output
	AgeSeconds int    `json:"age_seconds"`
	Status     string `json:"execution_status"`
}

// slots is the semaphore: count, limit, holders and the drift between them.
type slots struct {
	Count   int      `json:"count"`
	Limit   int      `json:"effective_limit"` // what acquire enforces (the controller's, at most Max)
	Max     int      `json:"max"`             // the configured maximum
	Drift   int      `json:"drift"`           // count − holders
	Holders []holder `json:"holders"`
}

func (t *target) slots(ctx context.Context) (slots, error) {
	st, err := t.sem.Read(ctx)
	if err != nil {
		return slots{}, err
	}
	smARN, err := t.stateMachineARN(ctx)
	if err != nil {
		return slots{}, err
	}
	s := slots{Count: st.Count, Limit: st.Limit(), Max: st.Max, Drift: st.Count - len(st.Holders), Holders: []holder{}}
	now := time.Now()
	for _, h := range st.Holders {
		_, es, err := t.executionStatus(ctx, smARN, h.Execution)
		if err != nil {
			return slots{}, err
		}
		s.Holders = append(s.Holders, holder{Execution: h.Execution, AcquiredAt: timestamp(h.AcquiredAt), AgeSeconds: int(now.Sub(h.AcquiredAt).Seconds()), Status: es})
	}
	return s, nil
}

// queueDepth is what a queue holds; OldestAgeSeconds comes from CloudWatch and is
// nil when it has no recent datapoint (always so in the local cloud).
type queueDepth struct {
	Name             string   `json:"name"`
	Visible          int      `json:"visible"`
	InFlight         int      `json:"in_flight"`
	OldestAgeSeconds *float64 `json:"oldest_age_seconds"`
}

func (t *target) queueDepth(ctx context.Context, name string) (queueDepth, error) {
	url, err := t.queueURL(ctx, name)
	if err != nil {
		return queueDepth{}, err
	}
	out, err := t.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return queueDepth{}, fmt.Errorf("depth of queue %s: %w", name, err)
	}
	q := queueDepth{Name: name}
	q.Visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	q.InFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	q.OldestAgeSeconds = t.oldestAge(ctx, name)
	return q, nil
}

// oldestAge reads the queue's ApproximateAgeOfOldestMessage metric: SQS has no API
// for it, and receiving a FIFO message to look at it would block its group. A
// missing metric is not an error of the status report: it says "unknown". The local
// cloud has no CloudWatch, so it is not asked.
func (t *target) oldestAge(ctx context.Context, queue string) *float64 {
	if t.local {
		return nil
	}
	now := time.Now()
	out, err := cloudwatch.NewFromConfig(t.cfg).GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace:  aws.String("AWS/SQS"),
		MetricName: aws.String("ApproximateAgeOfOldestMessage"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queue)}},
		StartTime:  aws.Time(now.Add(-10 * time.Minute)),
		EndTime:    aws.Time(now),
		Period:     aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		fmt.Fprintf(t.warn, "enrichctl: oldest message age of %s unknown: %v\n", queue, err)
		return nil
	}
	var latest *cwtypes.Datapoint
	for i, d := range out.Datapoints {
		if latest == nil || aws.ToTime(d.Timestamp).After(aws.ToTime(latest.Timestamp)) {
			latest = &out.Datapoints[i]
		}
	}
	if latest == nil || latest.Maximum == nil {
		return nil
	}
	age := round(*latest.Maximum, 0)
	return &age
}

type statusReport struct {
	Stack string         `json:"stack"`
	Jobs  map[string]int `json:"jobs"`
	// Lifecycle is the reaper's view (stuck rows, oldest non-terminal age) and the
	// discovery cursor's lag; nil when the stack's settings cannot be read.
	Lifecycle *lifecycleReport `json:"lifecycle,omitempty"`
	Slots     slots            `json:"slots"`
	Queue     queueDepth       `json:"queue"`
	DLQ       queueDepth       `json:"dlq"`
}

func (t *target) report(ctx context.Context) (statusReport, error) {
	r := statusReport{Stack: t.names.Stack}
	var err error
	if r.Jobs, err = t.status.Counts(ctx); err != nil {
		return r, err
	}
	if r.Lifecycle, err = t.lifecycle(ctx); err != nil {
		return r, err
	}
	if r.Slots, err = t.slots(ctx); err != nil {
		return r, err
	}
	if r.Queue, err = t.queueDepth(ctx, t.names.Queue); err != nil {
		return r, err
	}
	r.DLQ, err = t.queueDepth(ctx, t.names.DeadLetterQueue)
	return r, err
}

func (r statusReport) print(w io.Writer) {
	fmt.Fprintf(w, "stack %s\njobs:\n", r.Stack)
	for _, st := range status.Overall {
		fmt.Fprintf(w, "  %-20s %d\n", st, r.Jobs[st])
	}
	r.Lifecycle.print(w)
	r.Slots.print(w)
	for _, q := range []queueDepth{r.Queue, r.DLQ} {
		age := "unknown"
		if q.OldestAgeSeconds != nil {
			age = (time.Duration(*q.OldestAgeSeconds) * time.Second).String()
		}
		fmt.Fprintf(w, "queue %s: %d waiting, %d in flight, oldest message %s\n", q.Name, q.Visible, q.InFlight, age)
	}
}

func (s slots) print(w io.Writer) {
	fmt.Fprintf(w, "slots: %d of %d in use (effective limit; maximum %d), %s", s.Count, s.Limit, s.Max, plural(len(s.Holders), "holder"))
	if s.Drift != 0 {
		fmt.Fprintf(w, " (drift %+d: run `enrichctl reconcile`)", s.Drift)
	}
	fmt.Fprintln(w)
	for _, h := range s.Holders {
		fmt.Fprintf(w, "  %-40s %-10s held %s\n", h.Execution, h.Status, time.Duration(h.AgeSeconds)*time.Second)
	}
}

// output prints v as JSON with --json, else through text.
func (o *Options) output(w io.Writer, v any, text func(io.Writer)) error {
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("print JSON: %w", err)
		}
		return nil
	}
	text(w)
	return nil
}
