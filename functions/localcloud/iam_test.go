package localcloud_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

var roleSeq atomic.Int32

// asRole creates a role with statements and returns an SDK config that runs as it.
func asRole(t *testing.T, service string, stmts ...spec.Statement) aws.Config {
	t.Helper()
	ctx := context.Background()
	c := localcloud.Shared(t)
	r := spec.Role{Name: fmt.Sprintf("test-role-%d", roleSeq.Add(1)), Service: service, Statements: stmts}
	if err := localcloud.CreateRoles(ctx, config(t), []spec.Role{r}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.RoleConfig(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wantDenied checks err is AccessDenied naming action and resource, with the error
// code the SDK of a JSON (or XML) protocol service reads.
func wantDenied(t *testing.T, err error, code, action, resource string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if !strings.Contains(api.ErrorMessage(), action) || !strings.Contains(api.ErrorMessage(), resource) {
		t.Errorf("message %q does not name %s on %s", api.ErrorMessage(), action, resource)
	}
}

var acct = localcloud.Account

// DynamoDB statements are checked against the table (and index) the call names, and
// a refusal is a JSON AccessDeniedException naming action and resource.
func TestDynamoDBIsScopedToTableAndAction(t *testing.T) {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(asRole(t, spec.LambdaService, spec.Statement{
		Sid: "Read", Actions: []string{"dynamodb:GetItem"}, Resources: []string{acct.TableARN(names.SemaphoreTable)}}))
	key := map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.SemaphoreTable), Key: key}); err != nil {
		t.Fatalf("allowed GetItem: %v", err)
	}
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(names.SemaphoreTable), Key: key,
		UpdateExpression: aws.String("SET #c = :z"), ExpressionAttributeNames: map[string]string{"#c": contract.SemaphoreCount},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":z": &ddbtypes.AttributeValueMemberN{Value: "0"}}})
	wantDenied(t, err, "AccessDeniedException", "dynamodb:UpdateItem", acct.TableARN(names.SemaphoreTable))
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names.StatusTable),
		Key: map[string]ddbtypes.AttributeValue{contract.StatusKey: &ddbtypes.AttributeValueMemberS{Value: "1"}}})
	wantDenied(t, err, "AccessDeniedException", "dynamodb:GetItem", acct.TableARN(names.StatusTable))
	_, err = db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(names.StatusTable), IndexName: aws.String(contract.StatusIndex),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": contract.AttrOverallStatus},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: "FAILED"}}})
	wantDenied(t, err, "AccessDeniedException", "dynamodb:Query", acct.IndexARN(names.StatusTable, contract.StatusIndex))
}

// Step Functions statements are checked against the state machine or execution.
func TestStepFunctionsIsScopedToStateMachine(t *testing.T) {
	ctx := context.Background()
	client := sfn.NewFromConfig(asRole(t, spec.LambdaService, spec.Statement{
		Sid: "Describe", Actions: []string{"states:DescribeExecution"}, Resources: []string{acct.ExecutionsARN("other")}}))
	_, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(resources.StateMachineARN)})
	wantDenied(t, err, "AccessDeniedException", "states:ListExecutions", resources.StateMachineARN)
	arn := acct.ExecutionsARN(names.StateMachine)
	arn = strings.TrimSuffix(arn, "*") + "job-1"
	_, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	wantDenied(t, err, "AccessDeniedException", "states:DescribeExecution", arn)
}

// SQS authorises a batch as the action of its entries (SendMessageBatch needs
// sqs:SendMessage), on the queue. A queue of its own keeps the shared one empty.
func TestSQSBatchIsAuthorisedAsItsAction(t *testing.T) {
	ctx := context.Background()
	created, err := sqs.NewFromConfig(config(t)).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("iam-batch")})
	if err != nil {
		t.Fatal(err)
	}
	url := created.QueueUrl
	q := sqs.NewFromConfig(asRole(t, spec.LambdaService, spec.Statement{
		Sid: "Send", Actions: []string{"sqs:SendMessage"}, Resources: []string{acct.QueueARN("iam-batch")}}))
	out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []sqstypes.SendMessageBatchRequestEntry{{
		Id: aws.String("1"), MessageBody: aws.String("{}")}}})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("SendMessageBatch with sqs:SendMessage: %v %+v", err, out)
	}
	_, err = q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url})
	wantDenied(t, err, "AccessDeniedException", "sqs:ReceiveMessage", acct.QueueARN("iam-batch"))
}

// An SQS event source mapping polls with the function's role: a role that may not
// receive from the queue is refused when the mapping is created, as AWS refuses it,
// and one that may polls and deletes.
func TestMappingPollsWithTheExecutionRole(t *testing.T) {
	ctx := context.Background()
	created, err := sqs.NewFromConfig(config(t)).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("iam-mapping")})
	if err != nil {
		t.Fatal(err)
	}
	url, arn := aws.ToString(created.QueueUrl), acct.QueueARN("iam-mapping")
	handler := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	c := localcloud.Shared(t)
	noReceive := asRole(t, spec.LambdaService, spec.Statement{
		Sid: "Poll", Actions: []string{"sqs:GetQueueAttributes", "sqs:DeleteMessage"}, Resources: []string{arn}})
	if m, err := c.StartSQSMapping(ctx, localcloud.MappingConfig{QueueURL: url, BatchSize: 1, MaxConcurrency: 1,
		Handler: handler, Poller: &noReceive}); err == nil || !strings.Contains(err.Error(), "sqs:ReceiveMessage") {
		if m != nil {
			m.Stop()
		}
		t.Fatalf("mapping with a role that may not receive: %v", err)
	}
	poll := asRole(t, spec.LambdaService, spec.Statement{
		Sid: "Poll", Actions: []string{"sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage"}, Resources: []string{arn}})
	m, err := c.StartSQSMapping(ctx, localcloud.MappingConfig{QueueURL: url, BatchSize: 1, MaxConcurrency: 1, Handler: handler, Poller: &poll})
	if err != nil {
		t.Fatalf("mapping with a role that may poll: %v", err)
	}
	m.Stop()
}

// S3 answers a missing key with 404 only to a caller allowed s3:ListBucket on the
// bucket; a ListBucket limited by an s3:prefix condition does not count, since a
// GetObject carries no prefix (S3 API reference, GetObject, "Permissions").
func TestS3MissingKeyIs403WithoutListBucket(t *testing.T) {
	ctx := context.Background()
	objects := spec.Statement{Sid: "Objects", Actions: []string{"s3:GetObject"},
		Resources: []string{acct.ObjectARN(resources.BronzeBucket, contract.BronzePrefix+"*")}}
	missing := &s3.GetObjectInput{Bucket: aws.String(resources.BronzeBucket), Key: aws.String(contract.BronzePrefix + "missing.json")}
	for _, tc := range []struct {
		name    string
		list    []spec.Statement
		notFind bool // 404 rather than 403
	}{
		{"no ListBucket", nil, false},
		{"ListBucket under a prefix condition", []spec.Statement{{Sid: "List", Actions: []string{"s3:ListBucket"},
			Resources: []string{acct.BucketARN(resources.BronzeBucket)},
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {contract.BronzePrefix + "*"}}}}}, false},
		{"ListBucket on the bucket", []spec.Statement{{Sid: "List", Actions: []string{"s3:ListBucket"},
			Resources: []string{acct.BucketARN(resources.BronzeBucket)}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := s3.NewFromConfig(asRole(t, spec.LambdaService, append(tc.list, objects)...))
			_, err := client.GetObject(ctx, missing)
			var noKey *s3types.NoSuchKey
			if tc.notFind {
				if !errors.As(err, &noKey) {
					t.Fatalf("err = %v, want NoSuchKey", err)
				}
				return
			}
			wantDenied(t, err, "AccessDenied", "s3:ListBucket", acct.BucketARN(resources.BronzeBucket))
		})
	}
	// The prefix condition is evaluated against the request's prefix.
	client := s3.NewFromConfig(asRole(t, spec.LambdaService, spec.Statement{Sid: "List", Actions: []string{"s3:ListBucket"},
		Resources: []string{acct.BucketARN(resources.BronzeBucket)},
		Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {contract.BronzePrefix + "*"}}}}))
	if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(resources.BronzeBucket), Prefix: aws.String(contract.BronzePrefix)}); err != nil {
		t.Errorf("list under the allowed prefix: %v", err)
	}
	_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(resources.BronzeBucket), Prefix: aws.String("other/")})
	wantDenied(t, err, "AccessDenied", "s3:ListBucket", acct.BucketARN(resources.BronzeBucket))
}

// The gateway checks lambda:InvokeFunction and bedrock:InvokeModel against the
// caller's policy, as Lambda and Bedrock do.
func TestGatewayChecksInvokeAndModel(t *testing.T) {
	ctx := context.Background()
	const model = "openai.gpt-oss-120b-1:0"
	cfg := asRole(t, spec.LambdaService, spec.Statement{Sid: "Model", Actions: []string{"bedrock:InvokeModel"},
		Resources: []string{acct.FoundationModelARN(localcloud.Region, model)}})
	_, err := lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("work"), Payload: []byte(`{"job":"1"}`)})
	wantDenied(t, err, "AccessDeniedException", "lambda:InvokeFunction", acct.FunctionARN("work"))

	br := bedrockruntime.NewFromConfig(cfg)
	converse := func(id string) error {
		_, err := br.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(id), Messages: []brtypes.Message{{
			Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: "hi"}}}}})
		return err
	}
	if err := converse(model); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
			t.Fatalf("allowed model refused: %v", err)
		}
	}
	// An inference profile needs the profile ARN too.
	err = converse("us." + model)
	wantDenied(t, err, "AccessDeniedException", "bedrock:InvokeModel", acct.ModelARNs("us." + model)[0])
}

// A role is assumed only as the service its trust policy names.
func TestAssumeRoleChecksTrust(t *testing.T) {
	ctx := context.Background()
	r := spec.Role{Name: fmt.Sprintf("test-role-%d", roleSeq.Add(1)), Service: spec.StepFunctionsService, Statements: []spec.Statement{
		{Sid: "Work", Actions: []string{"lambda:InvokeFunction"}, Resources: []string{acct.FunctionARN("work")}}}}
	if err := localcloud.CreateRoles(ctx, config(t), []spec.Role{r}); err != nil {
		t.Fatal(err)
	}
	r.Service = spec.LambdaService
	if _, err := localcloud.Shared(t).RoleConfig(ctx, r); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("assumed a states role as lambda: %v", err)
	}
}
