package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
)

// peekVisibility hides the messages a dry run looks at long enough to list them all
// once; they are made visible again right after.
const peekVisibility = 60

func init() {
	var yes bool
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Move dead-letter messages back to the jobs queue (shows what would move unless --yes)",
		Long: "Without --yes, lists the messages that would move and exits 0 without moving any.\n" +
			"With --yes, moves every message: each is sent to the jobs queue in its message group,\n" +
			"keeping the deduplication id of the message discovery published (so it maps to the same\n" +
			"execution name), then deleted from the dead-letter queue. An empty dead-letter queue\n" +
			"exits 4 (refused: nothing to redrive).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			r, err := t.redrive(cmd.Context(), yes)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), r, r.print)
		},
	}
	redrive.Flags().BoolVar(&yes, "yes", false, "move the messages; without it nothing moves")
	dlq := &cobra.Command{Use: "dlq", Short: "The dead-letter queue of the jobs queue"}
	dlq.AddCommand(redrive)
	Root.AddCommand(dlq)
}

type deadLetter struct {
	MessageID    string `json:"message_id"`
	Group        string `json:"group"`
	JobPostingID string `json:"job_posting_id,omitempty"` // empty when the body is not a job message
	Receives     string `json:"receive_count"`
}

type redriveReport struct {
	DLQ   string `json:"dlq"`
	Queue string `json:"queue"`
	// Waiting is the DLQ's approximate depth before the command.
	Waiting  int          `json:"waiting"`
	Messages []deadLetter `json:"messages"`
	Moved    bool         `json:"moved"`
}

func (t *target) redrive(ctx context.Context, yes bool) (redriveReport, error) {
	depth, err := t.queueDepth(ctx, t.names.DeadLetterQueue)
	if err != nil {
		return redriveReport{}, err
	}
	dlqURL, err := t.queueURL(ctx, t.names.DeadLetterQueue)
	if err != nil {
		return redriveReport{}, err
	}
	queueURL, err := t.queueURL(ctx, t.names.Queue)
	if err != nil {
		return redriveReport{}, err
	}
	r := redriveReport{DLQ: t.names.DeadLetterQueue, Queue: t.names.Queue, Waiting: depth.Visible, Messages: []deadLetter{}, Moved: yes}
	visibility := int32(peekVisibility)
	if yes {
		visibility = 30 // each batch is moved and deleted right away
	}
	for {
		out, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlqURL),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           visibility,
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
			r.Messages = append(r.Messages, describeDeadLetter(m))
			if yes {
				err = t.move(ctx, queueURL, dlqURL, m)
			} else {
				_, err = t.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle})
			}
			if err != nil {
				return r, err
			}
		}
		if !yes {
			// A FIFO queue returns no more of a group while some of it is hidden: a dry
			// run sees the head of each group, and Waiting says how many there are.
			break
		}
	}
	if len(r.Messages) == 0 {
		return r, refusedErr("dead-letter queue %s is empty: nothing to redrive", t.names.DeadLetterQueue)
	}
	return r, nil
}

// move sends one dead letter back to the jobs queue and deletes it from the DLQ. The
// copy's deduplication id derives from the dead letter's id, so a move repeated after
// a failed delete is dropped by the queue.
func (t *target) move(ctx context.Context, queueURL, dlqURL string, m sqstypes.Message) error {
	origin := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageDeduplicationId)]
	if a, ok := m.MessageAttributes[invoke.AttrOriginDedupID]; ok && aws.ToString(a.StringValue) != "" {
		origin = aws.ToString(a.StringValue)
	}
	if origin == "" {
		origin = aws.ToString(m.MessageId)
	}
	_, err := t.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(queueURL),
		MessageBody:            m.Body,
		MessageGroupId:         aws.String(m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]),
		MessageDeduplicationId: aws.String("redrive-" + aws.ToString(m.MessageId)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			invoke.AttrOriginDedupID: {DataType: aws.String("String"), StringValue: aws.String(origin)},
		},
	})
	if err != nil {
		return fmt.Errorf("send %s back to %s: %w", aws.ToString(m.MessageId), t.names.Queue, err)
	}
	if _, err := t.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("delete %s from %s: %w", aws.ToString(m.MessageId), t.names.DeadLetterQueue, err)
	}
	return nil
}

func describeDeadLetter(m sqstypes.Message) deadLetter {
	d := deadLetter{
		MessageID: aws.ToString(m.MessageId),
		Group:     m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)],
		Receives:  m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)],
	}
	var body contract.QueueMessage
	if json.Unmarshal([]byte(aws.ToString(m.Body)), &body) == nil {
		d.JobPostingID = body.Job.JobPostingID
	}
	return d
}

func (r redriveReport) print(w io.Writer) {
	verb := "would move"
	if r.Moved {
		verb = "moved"
	}
	for _, m := range r.Messages {
		job := m.JobPostingID
		if job == "" {
			job = "(not a job message)"
		}
		fmt.Fprintf(w, "%s %s job %s group %s after %s receives\n", verb, m.MessageID, job, m.Group, m.Receives)
	}
	fmt.Fprintf(w, "%s %d of %d messages from %s to %s\n", verb, len(r.Messages), r.Waiting, r.DLQ, r.Queue)
	if !r.Moved {
		fmt.Fprintln(w, "dry run: add --yes to move them")
	}
}
