// Package invoke is InvokeEnrichment: it turns a batch of SQS FIFO messages into
// Step Functions executions with deterministic names, admits no more executions than
// the semaphore can serve soon, and defers the rest without spending their way to the
// dead-letter queue.
package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/queue"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
)

// Handler is the InvokeEnrichment Lambda handler.
type Handler struct {
	sfn       *sfn.Client
	sqs       *sqs.Client
	sem       *semaphore.Semaphore
	store     *status.Store
	publisher *queue.Publisher
	opts      Options
	log       *slog.Logger
	metrics   *metrics.Emitter
	// maxReceive is the queue's redrive maxReceiveCount (0: no dead-letter queue).
	maxReceive int
	dlqURL     string // the redrive target, where poison messages go at once
}

// New builds the handler and reads the queue's redrive policy once, so deferral knows
// how many receives a message may spend before SQS moves it to the DLQ.
func New(ctx context.Context, cfg aws.Config, opts Options, log *slog.Logger, m *metrics.Emitter) (*Handler, error) {
	if opts.DeferDelay <= 0 {
		opts.DeferDelay = DefaultDeferDelay
	}
	db := dynamodb.NewFromConfig(cfg)
	sqsc := sqs.NewFromConfig(cfg)
	h := &Handler{
		sfn:       sfn.NewFromConfig(cfg),
		sqs:       sqsc,
		sem:       semaphore.New(db, opts.SemaphoreTable),
		store:     status.New(db, opts.StatusTable),
		publisher: queue.NewPublisher(sqsc, opts.QueueURL, opts.MessageGroups),
		opts:      opts,
		log:       log,
		metrics:   m,
	}
	out, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(opts.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return nil, fmt.Errorf("read redrive policy of %s: %w", opts.QueueURL, err)
	}
	policy := out.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)]
	if h.maxReceive, err = maxReceiveCount(policy); err != nil {
		return nil, fmt.Errorf("queue %s: %w", opts.QueueURL, err)
	}
	if h.dlqURL, err = h.deadLetterURL(ctx, policy); err != nil {
		return nil, fmt.Errorf("queue %s: %w", opts.QueueURL, err)
	}
	return h, nil
}

// deadLetterURL finds the URL of the redrive policy's target queue ("" without one).
func (h *Handler) deadLetterURL(ctx context.Context, policy string) (string, error) {
	if policy == "" {
		return "", nil
	}
	var p struct {
		Target string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return "", fmt.Errorf("decode redrive policy: %w", err)
	}
	// arn:aws:sqs:region:account:name
	parts := strings.Split(p.Target, ":")
	if len(parts) != 6 {
		return "", fmt.Errorf("redrive target %q is not a queue ARN", p.Target)
	}
	out, err := h.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", fmt.Errorf("find dead-letter queue %s: %w", p.Target, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// deadLetter sends a poison message to the DLQ as redrive would (same body and group;
// the reason as an attribute; deduplicated on its message id, so a retried send is
// dropped). Without a DLQ it fails, and the message is reported instead.
func (h *Handler) deadLetter(ctx context.Context, r events.SQSMessage, reason error) error {
	if h.dlqURL == "" {
		return errors.New("the queue has no dead-letter queue")
	}
	group := r.Attributes["MessageGroupId"]
	if group == "" {
		group = "poison"
	}
	_, err := h.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(h.dlqURL),
		MessageBody:            aws.String(r.Body),
		MessageGroupId:         aws.String(group),
		MessageDeduplicationId: aws.String("poison-" + r.MessageId),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"PoisonReason": {DataType: aws.String("String"), StringValue: aws.String(reason.Error())},
		},
	})
	if err != nil {
		return fmt.Errorf("send %s to the DLQ: %w", r.MessageId, err)
	}
	return nil
}

// maxReceiveCount reads maxReceiveCount from a redrive policy, which carries it as a
// number or as a string depending on who wrote it.
func maxReceiveCount(policy string) (int, error) {
	if policy == "" {
		return 0, nil
	}
	var p struct {
		MaxReceiveCount json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return 0, fmt.Errorf("decode redrive policy: %w", err)
	}
	n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
	if err != nil {
		return 0, fmt.Errorf("redrive policy maxReceiveCount %s: %w", p.MaxReceiveCount, err)
	}
	return n, nil
}

// result counts what a batch did; it is logged once per invocation.
type result struct {
	Started  int `json:"started"`
	Existed  int `json:"existed"`
	Requeued int `json:"requeued"` // the existing execution had ended before its claim
	// Deferrals are first receipts of messages sent again by an attempt that ended
	// for capacity, uncounted (contract.QueueMessage.Deferred).
	Deferrals int `json:"deferrals"`
	Deferred  int `json:"deferred"`
	Resent    int `json:"resent"`
	Failed    int `json:"failed"`
	// DeadLettered poison messages were moved to the DLQ and acknowledged.
	DeadLettered int `json:"dead_lettered"`
}

// Handle processes one SQS batch. Failed and deferred messages are reported as batch
// item failures, except deferred messages close to the DLQ threshold, which are sent
// again as fresh messages (receive count 1) and acknowledged.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	g := newGate(h.admission(ctx))
	var res result
	var failures []events.SQSBatchItemFailure
	var deferred []events.SQSMessage
	for _, r := range ev.Records {
		group := r.Attributes["MessageGroupId"]
		log := h.log.With("message_id", r.MessageId, "group", group)
		j, perr := parseRecord(r)
		switch g.decide(group, perr == nil) {
		case deferr:
			deferred = append(deferred, r)
			continue
		case fail:
			log.ErrorContext(ctx, "poison message", "error", perr.Error(), "receive_count", receiveCount(r))
			// Moved to the DLQ at once, so its group is not blocked for maxReceiveCount
			// receives (T5); if that fails it is reported, never dropped, and redrive
			// moves it after maxReceiveCount.
			if err := h.deadLetter(ctx, r, perr); err != nil {
				log.ErrorContext(ctx, "poison message not moved to the DLQ", "error", err.Error())
				g.done(group, false, err)
				failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				res.Failed++
				continue
			}
			res.DeadLettered++
			continue
		}
		log = log.With("job_posting_id", j.msg.Job.JobPostingID, "execution", j.name)
		if j.msg.Deferred != "" && receiveCount(r) == 1 {
			res.Deferrals++
		}
		existed, err := h.start(ctx, j)
		requeued := false
		if err == nil && existed {
			requeued, err = h.existing(ctx, j)
		}
		g.done(group, err == nil && !existed, err)
		switch {
		case err != nil:
			log.WarnContext(ctx, "start execution failed", "error", err.Error())
			failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			res.Failed++
		case requeued:
			log.WarnContext(ctx, "execution of this publication ended before its claim: job requeued")
			res.Requeued++
		case existed:
			log.InfoContext(ctx, "execution already exists")
			res.Existed++
		default:
			log.InfoContext(ctx, "execution started")
			res.Started++
		}
	}
	failures = append(failures, h.deferAll(ctx, deferred, &res)...)
	if err := h.metrics.Emit(map[string]string{"Stack": h.opts.Stack}, nil,
		metrics.Metric{Name: contract.MetricAttemptsDeferred, Value: float64(res.Deferrals), Unit: metrics.Count}); err != nil {
		h.log.WarnContext(ctx, "emit metrics", "error", err.Error())
	}
	h.log.InfoContext(ctx, "batch done", "records", len(ev.Records), "result", res)
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// admission reads the capacity. When it cannot be read nothing is admitted: the batch
// is deferred, which is safe, rather than flooding the state machine.
func (h *Handler) admission(ctx context.Context) int {
	st, err := h.sem.Read(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "admission: read semaphore", "error", err.Error())
		return 0
	}
	if conf := (semaphore.Config{Max: h.opts.MaxConcurrent, Initial: h.opts.ConcurrencyInitial}); !st.Configured(conf) {
		// A deploy changed maxConcurrentExecutions or turned the controller on or off.
		// The program creates the item once and then leaves it alone (it holds the live
		// count and holders), so the first batch after the deploy applies the new
		// configuration; running executions compare against it from their next acquire.
		if err := h.sem.Configure(ctx, conf); err != nil {
			h.log.ErrorContext(ctx, "admission: apply the configured maximum", "from", st.Max, "to", conf.Max, "error", err.Error())
		} else {
			h.log.InfoContext(ctx, "semaphore configuration set from the deployed one", "from", st.Max, "to", conf.Max, "initial", conf.Initial)
			if st, err = h.sem.Read(ctx); err != nil {
				h.log.ErrorContext(ctx, "admission: read semaphore", "error", err.Error())
				return 0
			}
		}
	}
	// Every batch reads the semaphore anyway: the dashboard's slots-in-use comes from here.
	if err := h.metrics.Emit(map[string]string{"Stack": h.opts.Stack}, nil,
		metrics.Metric{Name: contract.MetricSlotsInUse, Value: float64(st.Count), Unit: metrics.Count}); err != nil {
		h.log.WarnContext(ctx, "emit metrics", "error", err.Error())
	}
	running, err := h.running(ctx, h.opts.MaxConcurrent+h.opts.AdmissionBuffer)
	if err != nil {
		h.log.ErrorContext(ctx, "admission: count running executions", "error", err.Error())
		return 0
	}
	c := Capacity{Max: st.Limit(), Buffer: h.opts.AdmissionBuffer, Held: st.Count, Running: running}
	n := Admit(c)
	h.log.InfoContext(ctx, "admission", "max", c.Max, "buffer", c.Buffer, "held", c.Held, "running", c.Running, "admit", n)
	return n
}

// running counts RUNNING executions up to limit: one page is enough, since more than
// limit running executions admits nothing anyway.
func (h *Handler) running(ctx context.Context, limit int) (int, error) {
	out, err := h.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(h.opts.StateMachineARN),
		StatusFilter:    sfntypes.ExecutionStatusRunning,
		MaxResults:      int32(min(max(limit, 1), 1000)),
	})
	if err != nil {
		return 0, fmt.Errorf("list running executions: %w", err)
	}
	return len(out.Executions), nil
}

// existing decides about a message whose execution exists already. Names are unique
// per publication, so that execution is this publication's: running, or ended after
// it settled the job, the message is done. One that ended before its claim (the row
// is still QUEUED at this publication) would leave the job waiting on a signal: the
// job is requeued under a new publication instead, and only then acknowledged.
func (h *Handler) existing(ctx context.Context, j job) (requeued bool, err error) {
	if j.msg.Publication == 0 {
		return false, nil // a message from before the counter: its name may be shared
	}
	arn, err := cleanup.ExecutionARN(h.opts.StateMachineARN, j.name)
	if err != nil {
		return false, err
	}
	d, err := h.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return false, fmt.Errorf("describe existing execution %s: %w", j.name, err)
	}
	if d.Status == sfntypes.ExecutionStatusRunning || d.Status == sfntypes.ExecutionStatusPendingRedrive {
		return false, nil
	}
	row, err := h.store.Get(ctx, j.msg.Job.JobPostingID)
	if err != nil {
		return false, err
	}
	if row.Overall != contract.StatusQueued || row.Execution != "" || row.Publication != j.msg.Publication {
		return false, nil // the execution settled the row, or a newer publication owns it
	}
	if _, err := h.publisher.Requeue(ctx, h.store, row, time.Now()); err != nil && !errors.Is(err, status.ErrConflict) {
		return false, err
	}
	return true, nil
}

// start starts the job's execution; existed reports an execution of that name.
func (h *Handler) start(ctx context.Context, j job) (existed bool, err error) {
	return Start(ctx, h.sfn, h.opts.StateMachineARN, j.name, j.msg)
}

// Start starts the execution name of the job in msg; existed reports that an
// execution of that name exists already, which is success (names are idempotent).
// `enrichctl retry` starts executions through it too.
func Start(ctx context.Context, client *sfn.Client, stateMachineARN, name string, msg contract.QueueMessage) (existed bool, err error) {
	input, err := json.Marshal(contract.ExecutionInput{JobData: msg.Job, ExecutionID: name, Force: msg.Force, Publication: msg.Publication})
	if err != nil {
		return false, fmt.Errorf("encode execution input: %w", err)
	}
	_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("start execution %s: %w", name, err)
	}
	return false, nil
}

// deferAll puts deferred messages back for later. A message with receives to spare is
// hidden for DeferDelay and reported as failed (its group stays blocked, keeping FIFO
// order); one that would reach the DLQ on its next failure is sent again as a new
// message of the same group and acknowledged instead. It returns the failures to report.
func (h *Handler) deferAll(ctx context.Context, msgs []events.SQSMessage, res *result) []events.SQSBatchItemFailure {
	var failures []events.SQSBatchItemFailure
	var hide []sqstypes.ChangeMessageVisibilityBatchRequestEntry
	for _, r := range msgs {
		if h.maxReceive > 0 && receiveCount(r)+1 >= h.maxReceive {
			if err := h.resend(ctx, r); err != nil {
				h.log.ErrorContext(ctx, "re-send deferred message", "message_id", r.MessageId, "error", err.Error())
				failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				res.Failed++
				continue
			}
			res.Resent++
			continue
		}
		hide = append(hide, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(len(hide))),
			ReceiptHandle:     aws.String(r.ReceiptHandle),
			VisibilityTimeout: int32(h.opts.DeferDelay / time.Second),
		})
		failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		res.Deferred++
	}
	if len(hide) > 0 {
		out, err := h.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(h.opts.QueueURL), Entries: hide})
		// Not fatal: the message still comes back, after the queue's visibility timeout.
		if err != nil {
			h.log.WarnContext(ctx, "defer: change visibility", "error", err.Error())
		} else if len(out.Failed) > 0 {
			h.log.WarnContext(ctx, "defer: change visibility failed for some messages", "failed", len(out.Failed))
		}
	}
	return failures
}

// resend publishes a copy of a deferred message with a fresh receive count. The copy
// keeps the group, and the original deduplication id as an attribute so it maps to
// the same execution name; its own deduplication id is derived from the original
// message id, so a retried re-send within the dedup window is not duplicated.
func (h *Handler) resend(ctx context.Context, r events.SQSMessage) error {
	_, err := h.sqs.SendMessage(ctx, Copy(h.opts.QueueURL, "deferred-", r))
	if err != nil {
		return fmt.Errorf("send copy of %s: %w", r.MessageId, err)
	}
	return nil
}
