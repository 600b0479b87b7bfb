package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// dlqRetention keeps dead letters as long as the stack does.
var dlqRetention = int(stacks.QueueRetention.Seconds())

// Resources are what Provision created.
type Resources struct {
	QueueURL        string
	DLQURL          string
	StateMachineARN string // empty when no definition was given
	BronzeBucket    string
	SilverBucket    string
}

// Provision creates a stack's resources in a fresh local cloud with the real SDK
// clients: the roles, both buckets, both tables (the semaphore seeded), the FIFO queue
// with its dead-letter queue and, when definition is not empty, the Standard state
// machine, whose integrations run under the role names.StateMachineRole (which must
// be among roles).
func Provision(ctx context.Context, cfg aws.Config, names contract.Names, s stacks.Settings, definition string, roles ...spec.Role) (Resources, error) {
	if s.BronzeBucket == "" || s.SilverBucket == "" {
		return Resources{}, errors.New("provision: stack settings name no Bronze or Silver bucket")
	}
	if err := CreateRoles(ctx, cfg, roles); err != nil {
		return Resources{}, err
	}
	res := Resources{BronzeBucket: s.BronzeBucket, SilverBucket: s.SilverBucket}
	s3c := s3.NewFromConfig(cfg)
	for _, b := range []string{s.BronzeBucket, s.SilverBucket} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return Resources{}, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	if err := createTables(ctx, dynamodb.NewFromConfig(cfg), names, contract.SemaphoreSeed(s.MaxConcurrentExecutions, s.InitialLimit())); err != nil {
		return Resources{}, err
	}
	var err error
	if res.QueueURL, res.DLQURL, err = createQueues(ctx, sqs.NewFromConfig(cfg), names, s); err != nil {
		return Resources{}, err
	}
	if definition != "" {
		out, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(names.StateMachine),
			Definition: aws.String(definition),
			RoleArn:    aws.String(Account.RoleARN(names.StateMachineRole)),
			Type:       sfntypes.StateMachineTypeStandard,
		})
		if err != nil {
			return Resources{}, fmt.Errorf("create state machine %s: %w", names.StateMachine, err)
		}
		res.StateMachineARN = aws.ToString(out.StateMachineArn)
	}
	return res, nil
}

func createTables(ctx context.Context, db *dynamodb.Client, names contract.Names, seed map[string]int) error {
	str := func(name string) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeTypeS}
	}
	key := func(name string, t ddbtypes.KeyType) ddbtypes.KeySchemaElement {
		return ddbtypes.KeySchemaElement{AttributeName: aws.String(name), KeyType: t}
	}
	tables := []*dynamodb.CreateTableInput{{
		TableName:            aws.String(names.SemaphoreTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{str(contract.SemaphoreKey)},
		KeySchema:            []ddbtypes.KeySchemaElement{key(contract.SemaphoreKey, ddbtypes.KeyTypeHash)},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}, {
		TableName:            aws.String(names.StatusTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{str(contract.StatusKey), str(contract.AttrOverallStatus), str(contract.AttrUpdatedAt)},
		KeySchema:            []ddbtypes.KeySchemaElement{key(contract.StatusKey, ddbtypes.KeyTypeHash)},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName:  aws.String(contract.StatusIndex),
			KeySchema:  []ddbtypes.KeySchemaElement{key(contract.AttrOverallStatus, ddbtypes.KeyTypeHash), key(contract.AttrUpdatedAt, ddbtypes.KeyTypeRange)},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	}}
	for _, t := range tables {
		if _, err := db.CreateTable(ctx, t); err != nil {
			return fmt.Errorf("create table %s: %w", aws.ToString(t.TableName), err)
		}
	}
	item := map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}}
	for name, n := range seed {
		item[name] = &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(n)}
	}
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(names.SemaphoreTable), Item: item})
	if err != nil {
		return fmt.Errorf("seed semaphore: %w", err)
	}
	return nil
}

func createQueues(ctx context.Context, q *sqs.Client, names contract.Names, s stacks.Settings) (queueURL, dlqURL string, err error) {
	dlq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(names.DeadLetterQueue),
		Attributes: map[string]string{
			string(sqstypes.QueueAttributeNameFifoQueue):              "true",
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(dlqRetention),
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", names.DeadLetterQueue, err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("dead-letter queue arn: %w", err)
	}
	redrive, err := json.Marshal(map[string]any{
		"deadLetterTargetArn": attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     s.QueueMaxReceives,
	})
	if err != nil {
		return "", "", fmt.Errorf("redrive policy: %w", err)
	}
	main, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(names.Queue),
		Attributes: map[string]string{
			string(sqstypes.QueueAttributeNameFifoQueue):         "true",
			string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(s.QueueVisibility.Seconds())),
			string(sqstypes.QueueAttributeNameRedrivePolicy):     string(redrive),
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", names.Queue, err)
	}
	return aws.ToString(main.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}
