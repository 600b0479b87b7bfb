package localcloud

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MappingConfig is an SQS event source mapping: the queue, the batch size and how many
// batches run at once.
type MappingConfig struct {
	QueueURL       string
	BatchSize      int // 1 to 10
	MaxConcurrency int // pollers, at least 1
	Handler        func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	// Poller is the SDK configuration the mapping polls and deletes with. Lambda
	// reads and deletes the messages with the function's execution role, which must
	// allow sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes (AWS
	// Lambda Developer Guide, "Using Lambda with Amazon SQS", execution role
	// permissions), so a role without them fails here as in AWS. Nil: the
	// operator's credentials.
	Poller *aws.Config
}

// Mapping polls a queue like Lambda's event source mapping with
// ReportBatchItemFailures: it deletes the messages of a batch the handler did not
// report as failed; a handler error or crash leaves the whole batch to reappear after
// the visibility timeout. A batch that outlives the queue's visibility timeout cannot
// be deleted: a FIFO queue refuses an expired receipt handle ("The receipt handle has
// expired"), so its messages are delivered again. moto deletes with any handle a
// message ever had, so the mapping enforces the expiry itself.
type Mapping struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// pollWait is the long-poll wait in seconds, short so Stop does not leave moto waiting.
const pollWait = 2

// StartSQSMapping starts polling until Stop, Close or ctx ends.
func (c *Cloud) StartSQSMapping(ctx context.Context, mc MappingConfig) (*Mapping, error) {
	if mc.BatchSize < 1 || mc.BatchSize > 10 || mc.MaxConcurrency < 1 || mc.Handler == nil {
		return nil, fmt.Errorf("sqs mapping: batch size %d (1-10), concurrency %d (>= 1) and a handler are required", mc.BatchSize, mc.MaxConcurrency)
	}
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	if mc.Poller != nil {
		cfg = *mc.Poller
	}
	client := sqs.NewFromConfig(cfg)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(mc.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs mapping: queue attributes: %w", err)
	}
	visibility, err := strconv.Atoi(attrs.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return nil, fmt.Errorf("sqs mapping: visibility timeout of %s: %w", mc.QueueURL, err)
	}
	if mc.Poller != nil {
		if err := c.checkPoller(ctx, cfg, attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]); err != nil {
			return nil, err
		}
	}
	p := poller{cfg: mc, sqs: client, arn: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], log: c.log,
		visibility: time.Duration(visibility) * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	m := &Mapping{cancel: cancel}
	for range mc.MaxConcurrency {
		m.wg.Go(func() { p.run(ctx) })
	}
	c.mu.Lock()
	c.mappings = append(c.mappings, m)
	c.mu.Unlock()
	return m, nil
}

// pollerActions are what an SQS event source mapping does with the execution role.
var pollerActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

// checkPoller refuses a mapping whose role may not poll the queue, as
// CreateEventSourceMapping does (InvalidParameterValueException: the execution role
// lacks permission to call ReceiveMessage), instead of a mapping that fails quietly.
func (c *Cloud) checkPoller(ctx context.Context, cfg aws.Config, queueARN string) error {
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("sqs mapping: poller credentials: %w", err)
	}
	for _, action := range pollerActions {
		if err := c.auth.allows(ctx, creds, action, queueARN); err != nil {
			return fmt.Errorf("sqs mapping: the execution role may not call %s on %s: %w", action, queueARN, err)
		}
	}
	return nil
}

// Stop ends polling and waits for the batches in flight.
func (m *Mapping) Stop() {
	m.once.Do(func() {
		m.cancel()
		m.wg.Wait()
	})
}

type poller struct {
	cfg        MappingConfig
	sqs        *sqs.Client
	arn        string
	log        *slog.Logger
	visibility time.Duration // the queue's: how long a receipt handle stays valid
}

func (p poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.cfg.QueueURL),
			MaxNumberOfMessages:         int32(p.cfg.BatchSize),
			WaitTimeSeconds:             pollWait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("sqs mapping receive failed", "queue", p.cfg.QueueURL, "error", err)
			}
			select { // back off instead of spinning on a broken queue
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if len(out.Messages) > 0 {
			p.deliver(ctx, out.Messages, time.Now())
		}
	}
}

// deliver hands one batch, received at received, to the handler and deletes what
// succeeded while the receipt handles are valid.
func (p poller) deliver(ctx context.Context, msgs []sqstypes.Message, received time.Time) {
	event := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		event.Records[i] = p.record(m)
	}
	resp, err := p.invoke(ctx, event)
	if err != nil {
		p.log.Warn("sqs mapping handler failed; batch returns after the visibility timeout", "messages", len(msgs), "error", err)
		return
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for _, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(entries) == 0 {
		return
	}
	if took := time.Since(received); took >= p.visibility {
		p.log.Warn("sqs mapping delete refused: the receipt handles have expired; the messages are delivered again",
			"queue", p.cfg.QueueURL, "messages", len(entries), "batch_took", took.String(), "visibility_timeout", p.visibility.String())
		return
	}
	// The batch succeeded: delete it even when the mapping is being stopped.
	out, err := p.sqs.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: entries})
	if err == nil && len(out.Failed) > 0 {
		err = fmt.Errorf("%d deletes failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	if err != nil {
		p.log.Warn("sqs mapping delete failed", "queue", p.cfg.QueueURL, "error", err)
	}
}

// invoke runs the handler; a panic is a crashed invocation, as in Lambda.
func (p poller) invoke(ctx context.Context, event events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler crashed: %v", r)
		}
	}()
	return p.cfg.Handler(ctx, event)
}

func (p poller) record(m sqstypes.Message) events.SQSMessage {
	attrs := map[string]events.SQSMessageAttribute{}
	for k, v := range m.MessageAttributes {
		attrs[k] = events.SQSMessageAttribute{
			StringValue:      v.StringValue,
			BinaryValue:      v.BinaryValue,
			StringListValues: v.StringListValues,
			BinaryListValues: v.BinaryListValues,
			DataType:         aws.ToString(v.DataType),
		}
	}
	return events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             m.Attributes,
		MessageAttributes:      attrs,
		EventSourceARN:         p.arn,
		EventSource:            "aws:sqs",
		AWSRegion:              Region,
	}
}
