package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
)

// What --yes does with a dead letter whose body InvokeEnrichment refuses for good.
const (
	badSkip   = "skip"   // leave it in the DLQ
	badDelete = "delete" // delete it
)

// Actions of a redrive on one message.
const (
	actionMoved   = "moved"
	actionSkipped = "skipped"
	actionDeleted = "deleted"
)

// moveVisibility hides each received dead letter while it is moved, and the skipped
// ones until the redrive ends (they are made visible again then).
const moveVisibility = 60

func newDLQCmd(o *Options) *cobra.Command {
	var (
		yes bool
		bad string
	)
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Move dead-letter messages back to the jobs queue (shows what would move unless --yes)",
		Long: "Without --yes, prints how many messages would move and changes nothing: SQS cannot show a\n" +
			"message without receiving it, and every receive adds one to its receive count, so the dry run\n" +
			"only reads the queue's depth. With --yes, moves every message whose body InvokeEnrichment\n" +
			"accepts: each is sent to the jobs queue in its message group, keeping the deduplication id of\n" +
			"the message discovery published (so it maps to the same execution name), then deleted from\n" +
			"the dead-letter queue, and listed. A message with a bad body (not a job message, invalid job\n" +
			"id) would fail again: --bad skip (default) leaves it in the dead-letter queue, --bad delete\n" +
			"deletes it. An empty dead-letter queue exits 4 (refused: nothing to redrive).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bad != badSkip && bad != badDelete {
				return usageErr("--bad %q: want %s or %s", bad, badSkip, badDelete)
			}
			t, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.redrive(cmd.Context(), yes, bad)
			if err != nil {
				return err
			}
			return o.output(cmd.OutOrStdout(), r, r.print)
		},
	}
	redrive.Flags().BoolVar(&yes, "yes", false, "move the messages; without it nothing moves")
	redrive.Flags().StringVar(&bad, "bad", badSkip, "with --yes, what to do with a message InvokeEnrichment refuses: skip or delete")
	_ = redrive.RegisterFlagCompletionFunc("bad", cobra.FixedCompletions([]string{badSkip, badDelete}, cobra.ShellCompDirectiveNoFileComp))
	return group("dlq", "The dead-letter queue of the jobs queue", redrive)
}

type deadLetter struct {
	MessageID    string `json:"message_id"`
	Group        string `json:"group"`
	JobPostingID string `json:"job_posting_id,omitempty"` // empty when the body is not a job message
	// Receives counts the receives before this redrive's own.
	Receives int    `json:"receive_count"`
	Action   string `json:"action"`
	Problem  string `json:"problem,omitempty"` // why InvokeEnrichment refuses the body
}

type redriveReport struct {
	DLQ   string `json:"dlq"`
	Queue string `json:"queue"`
	// Waiting is the DLQ's approximate depth before the command.
	Waiting  int          `json:"waiting"`
	Applied  bool         `json:"applied"`
	Bad      string       `json:"bad_bodies"`
	Messages []deadLetter `json:"messages"` // what --yes did, message by message
	Moved    int          `json:"moved"`
	Skipped  int          `json:"skipped"`
	Deleted  int          `json:"deleted"`
}

func (t *target) redrive(ctx context.Context, yes bool, bad string) (redriveReport, error) {
	depth, err := t.queueDepth(ctx, t.names.DeadLetterQueue)
	if err != nil {
		return redriveReport{}, err
	}
	r := redriveReport{DLQ: t.names.DeadLetterQueue, Queue: t.names.Queue, Waiting: depth.Visible, Applied: yes, Bad: bad, Messages: []deadLetter{}}
	if !yes {
		if depth.Visible == 0 {
			return r, refusedErr("dead-letter queue %s is empty: nothing to redrive", t.names.DeadLetterQueue)
		}
		return r, nil
	}
	dlqURL, err := t.queueURL(ctx, t.names.DeadLetterQueue)
	if err != nil {
		return r, err
	}
	queueURL, err := t.queueURL(ctx, t.names.Queue)
	if err != nil {
		return r, err
	}
	var skipped []sqstypes.Message
	defer func() { t.unhide(ctx, dlqURL, skipped) }()
	for {
		out, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlqURL),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           moveVisibility,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return r, fmt.Errorf("receive from %s: %w", t.names.DeadLetterQueue, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			d := describeDeadLetter(m)
			switch {
			case d.Problem == "":
				err = t.move(ctx, queueURL, dlqURL, m)
				d.Action = actionMoved
				r.Moved++
			case bad == badDelete:
				err = t.delete(ctx, dlqURL, m)
				d.Action = actionDeleted
				r.Deleted++
			default:
				skipped = append(skipped, m)
				d.Action = actionSkipped
				r.Skipped++
			}
			if err != nil {
				return r, err
			}
			r.Messages = append(r.Messages, d)
		}
	}
	if len(r.Messages) == 0 {
		return r, refusedErr("dead-letter queue %s is empty: nothing to redrive", t.names.DeadLetterQueue)
	}
	return r, nil
}

// move sends one dead letter back to the jobs queue with invoke's re-send rule, then
// deletes it from the DLQ. A move repeated after a failed delete is dropped by the
// queue (the copy's deduplication id derives from the dead letter's id).
func (t *target) move(ctx context.Context, queueURL, dlqURL string, m sqstypes.Message) error {
	if _, err := t.sqs.SendMessage(ctx, invoke.Copy(queueURL, "redrive-", asRecord(m))); err != nil {
		return fmt.Errorf("send %s back to %s: %w", aws.ToString(m.MessageId), t.names.Queue, err)
	}
	return t.delete(ctx, dlqURL, m)
}

func (t *target) delete(ctx context.Context, dlqURL string, m sqstypes.Message) error {
	if _, err := t.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("delete %s from %s: %w", aws.ToString(m.MessageId), t.names.DeadLetterQueue, err)
	}
	return nil
}

// unhide makes the skipped dead letters visible again; failing that, they come back
// after moveVisibility anyway.
func (t *target) unhide(ctx context.Context, dlqURL string, ms []sqstypes.Message) {
	for _, m := range ms {
		_, _ = t.sqs.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
	}
}

// asRecord is the received message as the Lambda event record invoke's rules read.
func asRecord(m sqstypes.Message) events.SQSMessage {
	r := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
	}
	for k, v := range m.MessageAttributes {
		r.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
	}
	return r
}

func describeDeadLetter(m sqstypes.Message) deadLetter {
	d := deadLetter{
		MessageID: aws.ToString(m.MessageId),
		Group:     m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)],
	}
	// This redrive's receive is counted too.
	if n, err := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil && n > 0 {
		d.Receives = n - 1
	}
	body := aws.ToString(m.Body)
	var msg contract.QueueMessage
	if json.Unmarshal([]byte(body), &msg) == nil {
		d.JobPostingID = clip(msg.Job.JobPostingID)
	}
	if err := invoke.CheckBody(body); err != nil {
		d.Problem = clip(err.Error())
	}
	return d
}

func (r redriveReport) print(w io.Writer) {
	if !r.Applied {
		fmt.Fprintf(w, "would move up to %s from %s to %s (messages InvokeEnrichment refuses are skipped, or deleted with --bad delete)\n",
			plural(r.Waiting, "message"), r.DLQ, r.Queue)
		fmt.Fprintln(w, "dry run: nothing was received, so no receive count changed; add --yes to move them (each is listed as it moves)")
		return
	}
	for _, m := range r.Messages {
		job := m.JobPostingID
		if job == "" {
			job = "(none)"
		}
		fmt.Fprintf(w, "%s %s job %s group %s after %s", m.Action, m.MessageID, job, m.Group, plural(m.Receives, "receive"))
		if m.Problem != "" {
			fmt.Fprintf(w, ": %s", m.Problem)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "moved %d, skipped %d, deleted %d of %s in %s (to %s)\n", r.Moved, r.Skipped, r.Deleted, plural(r.Waiting, "message"), r.DLQ, r.Queue)
	if r.Skipped > 0 {
		fmt.Fprintln(w, "skipped messages stay in the dead-letter queue: fix or delete them (--bad delete)")
	}
}
