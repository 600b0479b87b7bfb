package localcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/stacks"
)

var (
	names     = contract.NamesFor("dev")
	resources localcloud.Resources
	workCalls atomic.Int64
)

// workInput drives the "work" function: fail with a named error, a plain error, or crash.
type workInput struct {
	Job  string `json:"job"`
	Fail string `json:"fail,omitempty"` // "", "named", "plain", "panic"
}

func work(ctx context.Context, in workInput) (map[string]string, error) {
	workCalls.Add(1)
	if lc, ok := lambdacontext.FromContext(ctx); !ok || lc.AwsRequestID == "" || !strings.HasSuffix(lc.InvokedFunctionArn, ":function:work") {
		return nil, fmt.Errorf("no Lambda context: %+v", lc)
	}
	switch in.Fail {
	case "named":
		return nil, fmt.Errorf("pass failed: %w", &contract.Error{Name: contract.ErrNameThrottled, Message: "slow down"})
	case "plain":
		return nil, errors.New("disk on fire")
	case "panic":
		panic("boom")
	}
	return map[string]string{"done": in.Job}, nil
}

// workRole is the role of the pipeline below: it may invoke "work" and nothing else.
var workRole = spec.Role{Name: names.StateMachineRole, Service: spec.StepFunctionsService, Statements: []spec.Statement{
	{Sid: "Work", Actions: []string{"lambda:InvokeFunction"}, Resources: []string{localcloud.Account.FunctionARN("work")}},
}}

// pipeline is a two-state machine whose task runs "work" and catches a named error.
const pipeline = `{
  "StartAt": "Work",
  "States": {
    "Work": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:work", "Payload.$": "$"},
      "OutputPath": "$.Payload",
      "Catch": [{"ErrorEquals": ["ModelThrottled"], "ResultPath": "$.error", "Next": "Caught"}],
      "Next": "Done"
    },
    "Caught": {"Type": "Pass", "End": true},
    "Done": {"Type": "Pass", "End": true}
  }
}`

func TestMain(m *testing.M) {
	opts := localcloud.Options{Bedrock: bedrockemu.Options{Offline: func(p contract.Pass, _ string) string {
		return `{"` + p.Section() + `": {}}`
	}}}
	os.Exit(localcloud.RunTests(m, opts, func(c *localcloud.Cloud) error {
		c.RegisterFunction("work", localcloud.JSONHandler(work))
		cfg, err := c.AWSConfig(context.Background())
		if err != nil {
			return err
		}
		s, err := stacks.Defaults("dev")
		if err != nil {
			return err
		}
		s.BronzeBucket, s.SilverBucket = "bronze-test", "silver-test"
		resources, err = localcloud.Provision(context.Background(), cfg, names, s, pipeline, workRole)
		return err
	}))
}

func config(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := localcloud.Shared(t).AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestS3ConditionalPut(t *testing.T) {
	ctx := context.Background()
	client := s3.NewFromConfig(config(t))
	put := func(body string) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(resources.BronzeBucket), Key: aws.String("ai_enrichment/1/pass1-m.json"),
			Body: strings.NewReader(body), IfNoneMatch: aws.String("*"),
		})
		return err
	}
	if err := put("first"); err != nil {
		t.Fatal(err)
	}
	var apiErr smithy.APIError
	if err := put("second"); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("second conditional put: %v, want PreconditionFailed", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(resources.BronzeBucket), Key: aws.String("ai_enrichment/1/pass1-m.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if body, err := io.ReadAll(out.Body); err != nil || string(body) != "first" {
		t.Fatalf("object %q (%v), want the first body", body, err)
	}
}

func TestSemaphoreSeededAndConditional(t *testing.T) {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(config(t))
	acquire := func(holder string) error {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           aws.String(names.SemaphoreTable),
			Key:                 map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
			UpdateExpression:    aws.String("ADD #c :one SET #h = :now"),
			ConditionExpression: aws.String("#c < #max AND attribute_not_exists(#h)"),
			ExpressionAttributeNames: map[string]string{
				"#c": contract.SemaphoreCount, "#max": contract.SemaphoreMax, "#h": holder,
			},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":one": &ddbtypes.AttributeValueMemberN{Value: "1"},
				":now": &ddbtypes.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"},
			},
		})
		return err
	}
	// The dev stack has 5 slots: five holders get one, the sixth and a repeat do not.
	for i := range 5 {
		if err := acquire(fmt.Sprintf("exec-%d", i)); err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
	}
	for _, holder := range []string{"exec-5", "exec-0"} {
		if _, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](acquire(holder)); !ok {
			t.Fatalf("acquire %s: want ConditionalCheckFailedException", holder)
		}
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(names.StatusTable), IndexName: aws.String(contract.StatusIndex),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": contract.AttrOverallStatus},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: contract.StatusQueued}},
	})
	if err != nil || out.Count != 0 {
		t.Fatalf("status-index query: %v %+v", err, out)
	}
}

func TestFIFOQueueWithRedrive(t *testing.T) {
	ctx := context.Background()
	q := sqs.NewFromConfig(config(t))
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(resources.QueueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Attributes["FifoQueue"] != "true" || !strings.Contains(attrs.Attributes["RedrivePolicy"], names.DeadLetterQueue) {
		t.Fatalf("queue attributes %v", attrs.Attributes)
	}
	for range 2 { // the second send is a duplicate
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(resources.QueueURL), MessageBody: aws.String(`{"job":{"job_posting_id":"1"}}`),
			MessageGroupId: aws.String("g01"), MessageDeduplicationId: aws.String("job-1-p"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(resources.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("received %d messages, want 1 (deduplicated)", len(out.Messages))
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(resources.QueueURL), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
}

func TestLambdaInvoke(t *testing.T) {
	ctx := context.Background()
	client := lambda.NewFromConfig(config(t))
	tests := []struct {
		name, function, fail string
		wantErrorType        string // "" for success
		wantPayload          string
	}{
		{"success", "work", "", "", `{"done":"7"}`},
		{"qualified arn", "arn:aws:lambda:us-east-1:123456789012:function:work:$LATEST", "", "", `{"done":"7"}`},
		{"named error", "work", "named", contract.ErrNameThrottled, `"errorMessage":"slow down"`},
		{"plain error", "work", "plain", "errorString", `"errorMessage":"disk on fire"`},
		{"crash", "work", "panic", "Runtime.ExitError", `"errorType":"Runtime.ExitError"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: fmt.Appendf(nil, `{"job":"7","fail":%q}`, tt.fail)})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.FunctionError); (got != "") != (tt.wantErrorType != "") {
				t.Fatalf("FunctionError %q, payload %s", got, out.Payload)
			}
			if !strings.Contains(string(out.Payload), tt.wantPayload) {
				t.Fatalf("payload %s, want %s", out.Payload, tt.wantPayload)
			}
			if tt.wantErrorType != "" {
				var e struct{ ErrorType string }
				if err := json.Unmarshal(out.Payload, &e); err != nil || e.ErrorType != tt.wantErrorType {
					t.Fatalf("errorType %q (%v), want %q", e.ErrorType, err, tt.wantErrorType)
				}
			}
		})
	}
	_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
	if _, ok := errors.AsType[*lambdatypes.ResourceNotFoundException](err); !ok {
		t.Fatalf("unknown function: %v, want ResourceNotFoundException", err)
	}
}

// TestStateMachineRunsRepeatedly is the getmoto/moto#10077 check: without the
// launcher's fix the second execution of a machine fails.
func TestStateMachineRunsRepeatedly(t *testing.T) {
	ctx := context.Background()
	client := sfn.NewFromConfig(config(t))
	before := workCalls.Load()
	tests := []struct {
		name, input, want string
	}{
		{"run-1", `{"job":"1"}`, `{"done":"1"}`},
		{"run-2", `{"job":"2"}`, `{"done":"2"}`},
		{"run-caught", `{"job":"3","fail":"named"}`, `"Error":"ModelThrottled"`},
	}
	for _, tt := range tests {
		start, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(resources.StateMachineARN), Name: aws.String(tt.name), Input: aws.String(tt.input)})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		out := waitExecution(t, client, aws.ToString(start.ExecutionArn))
		compact := strings.ReplaceAll(aws.ToString(out.Output), " ", "") // moto's JSON has spaces
		if out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(compact, tt.want) {
			t.Fatalf("%s: status %s output %s error %s cause %s", tt.name, out.Status, aws.ToString(out.Output), aws.ToString(out.Error), aws.ToString(out.Cause))
		}
	}
	if got := workCalls.Load() - before; got != 3 {
		t.Fatalf("the task reached the Go handler %d times, want 3", got)
	}
}

func waitExecution(t *testing.T, client *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	for range 300 {
		out, err := client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("execution %s still running", arn)
	return nil
}

func TestConverseThroughGateway(t *testing.T) {
	c := localcloud.Shared(t)
	client := bedrockruntime.NewFromConfig(config(t))
	// A model id and an inference-profile ARN, whose '/' arrives escaped in the path.
	for _, model := range []string{"us.openai.gpt-oss-120b-1:0", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.openai.gpt-oss-120b-1:0"} {
		before := c.Bedrock().Count("11", contract.Pass2)
		out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId:  aws.String(model),
			System:   []brtypes.SystemContentBlock{&brtypes.SystemContentBlockMemberText{Value: "ai-enrichment pass2 (inference) prompt v1"}},
			Messages: []brtypes.Message{{Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: `<job_posting id="11">x</job_posting>`}}}},
		})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		msg := out.Output.(*brtypes.ConverseOutputMemberMessage).Value
		if got := msg.Content[0].(*brtypes.ContentBlockMemberText).Value; got != `{"inference": {}}` {
			t.Fatalf("%s: answer %q", model, got)
		}
		calls := c.Bedrock().Calls()
		if got := c.Bedrock().Count("11", contract.Pass2) - before; got != 1 || calls[len(calls)-1].Model != model {
			t.Fatalf("%s: call log counted %d calls, last %+v", model, got, calls[len(calls)-1])
		}
	}
}

// BenchmarkInvoke measures a Lambda Invoke through the gateway with the SDK client.
func BenchmarkInvoke(b *testing.B) {
	cfg, err := localcloud.Shared(b).AWSConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	client := lambda.NewFromConfig(cfg)
	payload := []byte(`{"job":"1"}`)
	for b.Loop() {
		if _, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("work"), Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSQSMapping(t *testing.T) {
	ctx := context.Background()
	c := localcloud.Shared(t)
	q := sqs.NewFromConfig(config(t))
	// A queue of its own with a one-second visibility timeout, so a failed item returns quickly.
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("mapping-test.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "VisibilityTimeout": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	for i, body := range []string{"a", "b", "c"} {
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageGroupId: aws.String(fmt.Sprintf("g%d", i)), MessageDeduplicationId: aws.String(body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"job": {DataType: aws.String("String"), StringValue: aws.String(body)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string][]events.SQSMessage{}
		done = make(chan struct{})
	)
	handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			seen[r.Body] = append(seen[r.Body], r)
			if r.Body == "b" && len(seen["b"]) == 1 { // fail "b" once
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		if len(seen["a"]) > 0 && len(seen["b"]) == 2 && len(seen["c"]) > 0 {
			close(done)
		}
		return resp, nil
	}
	m, err := c.StartSQSMapping(ctx, localcloud.MappingConfig{QueueURL: url, BatchSize: 10, MaxConcurrency: 2, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("not every message was delivered: %v", seen)
	}
	m.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(seen["a"]) != 1 || len(seen["c"]) != 1 {
		t.Fatalf("successful messages delivered again: %d a, %d c", len(seen["a"]), len(seen["c"]))
	}
	retry := seen["b"][1]
	if retry.Attributes["ApproximateReceiveCount"] != "2" || retry.Attributes["MessageGroupId"] != "g1" ||
		aws.ToString(retry.MessageAttributes["job"].StringValue) != "b" || retry.EventSource != "aws:sqs" || !strings.HasSuffix(retry.EventSourceARN, ":mapping-test.fifo") {
		t.Fatalf("redelivered record %+v", retry)
	}
	left, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if left.Attributes["ApproximateNumberOfMessages"] != "0" || left.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue not drained: %v", left.Attributes)
	}
}

// TestRacingConditionalWritesOneWins fires the same conditional write from many
// goroutines at once: as in DynamoDB, exactly one may succeed (moto alone lets
// several through; the gateway serialises DynamoDB calls).
func TestRacingConditionalWritesOneWins(t *testing.T) {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(config(t))
	for trial := range 30 {
		id := fmt.Sprintf("race-%d", trial)
		var wg sync.WaitGroup
		var wins atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName:           aws.String(names.StatusTable),
					Key:                 map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: id}},
					UpdateExpression:    aws.String("SET claim = :me"),
					ConditionExpression: aws.String("attribute_not_exists(claim)"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
						":me": &ddbtypes.AttributeValueMemberS{Value: id},
					},
				})
				if err == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("trial %d: %d conditional puts succeeded, want exactly 1", trial, n)
		}
	}
}

// A batch that takes longer than the queue's visibility timeout cannot be deleted
// (SQS FIFO: "The receipt handle has expired"): the message is delivered again even
// though the handler succeeded. moto alone deletes it with the stale handle.
func TestSQSMappingExpiredReceiptHandle(t *testing.T) {
	ctx := context.Background()
	c := localcloud.Shared(t)
	q := sqs.NewFromConfig(config(t))
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("mapping-expiry-test.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "VisibilityTimeout": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("slow"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	deliveries := make(chan string, 4)
	var n atomic.Int32
	handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if n.Add(1) == 1 {
			time.Sleep(1500 * time.Millisecond) // past the visibility timeout
		}
		for _, r := range ev.Records {
			deliveries <- r.Attributes["ApproximateReceiveCount"]
		}
		return events.SQSEventResponse{}, nil
	}
	m, err := c.StartSQSMapping(ctx, localcloud.MappingConfig{QueueURL: url, BatchSize: 1, MaxConcurrency: 1, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for _, want := range []string{"1", "2"} {
		select {
		case got := <-deliveries:
			if got != want {
				t.Fatalf("delivery with receive count %s, want %s", got, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no delivery %s: the slow batch's expired receipt handle deleted the message", want)
		}
	}
	select {
	case got := <-deliveries:
		t.Fatalf("a third delivery (receive count %s): the fast one was not deleted", got)
	case <-time.After(3 * time.Second):
	}
}
