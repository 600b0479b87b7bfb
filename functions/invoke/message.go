package invoke

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// AttrOriginDedupID is the message attribute a deferred message carries when it is
// sent again: the deduplication id of the message discovery published, so the copy
// maps to the same execution name as the original.
const AttrOriginDedupID = "OriginDedupId"

// job is one parsed queue message.
type job struct {
	msg  contract.QueueMessage
	name string // execution name
}

// parseRecord validates a record's body and derives its execution name. Errors are
// permanent: the message can never succeed.
func parseRecord(r events.SQSMessage) (job, error) {
	var m contract.QueueMessage
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		return job{}, fmt.Errorf("decode message body: %w", err)
	}
	id := m.Job.JobPostingID
	if err := contract.ValidateJobID(id); err != nil {
		return job{}, err
	}
	// The posting key is read by the passes: it must belong to this job.
	want := contract.PostingKey(id)
	switch {
	case m.Job.PostingKey == "":
		m.Job.PostingKey = want
	case m.Job.PostingKey != want:
		return job{}, fmt.Errorf("posting_key %q is not %q", m.Job.PostingKey, want)
	}
	if m.Publication > 0 {
		return job{msg: m, name: contract.PublicationName(id, m.Publication)}, nil
	}
	// A message from before the publication counter.
	return job{msg: m, name: contract.ExecutionName(id, nonce(r))}, nil
}

// nonce is stable across redeliveries and re-sends of one published message: it is
// derived from the original deduplication id (the message id when there is none).
func nonce(r events.SQSMessage) string {
	sum := sha256.Sum256([]byte(originDedupID(r)))
	return hex.EncodeToString(sum[:5])
}

// Copy is the SendMessage input that puts a copy of r on the queue at queueURL: the
// same body and group, the original deduplication id as an attribute so the copy maps
// to the same execution name, and its own deduplication id dedupPrefix + r's message
// id, so a copy repeated within the deduplication window is dropped by the queue.
// InvokeEnrichment's re-send of a deferred message and `enrichctl dlq redrive` use it.
func Copy(queueURL, dedupPrefix string, r events.SQSMessage) *sqs.SendMessageInput {
	return &sqs.SendMessageInput{
		QueueUrl:               aws.String(queueURL),
		MessageBody:            aws.String(r.Body),
		MessageGroupId:         aws.String(r.Attributes["MessageGroupId"]),
		MessageDeduplicationId: aws.String(dedupPrefix + r.MessageId),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			AttrOriginDedupID: {DataType: aws.String("String"), StringValue: aws.String(originDedupID(r))},
		},
	}
}

// CheckBody says why InvokeEnrichment would refuse a message body for good (nil when
// it accepts it).
func CheckBody(body string) error {
	_, err := parseRecord(events.SQSMessage{Body: body})
	return err
}

// originDedupID is the deduplication id a re-sent copy must carry.
func originDedupID(r events.SQSMessage) string {
	if a, ok := r.MessageAttributes[AttrOriginDedupID]; ok && a.StringValue != nil && *a.StringValue != "" {
		return *a.StringValue
	}
	if d := r.Attributes["MessageDeduplicationId"]; d != "" {
		return d
	}
	return r.MessageId
}

// receiveCount is the SQS ApproximateReceiveCount of a record (1 when absent).
func receiveCount(r events.SQSMessage) int {
	n, err := strconv.Atoi(strings.TrimSpace(r.Attributes["ApproximateReceiveCount"]))
	if err != nil || n < 1 {
		return 1
	}
	return n
}
