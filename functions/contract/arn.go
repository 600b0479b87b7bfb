package contract

import (
	"fmt"
	"strings"
)

// Account is where a stack runs: the partition, Region and account id every ARN is
// built from. It is the one place ARNs are spelled, so the Pulumi program, the state
// machine, the handlers' IAM declarations and the local cloud agree on them (and on
// the partition: aws, aws-cn, aws-us-gov).
type Account struct {
	Partition string
	Region    string
	ID        string
}

func (a Account) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.ID, resource)
}

// TableARN is the ARN of a DynamoDB table.
func (a Account) TableARN(name string) string { return a.arn("dynamodb", "table/"+name) }

// IndexARN is the ARN of a secondary index; Query on an index is authorised on it.
func (a Account) IndexARN(table, index string) string { return a.TableARN(table) + "/index/" + index }

// QueueARN is the ARN of an SQS queue.
func (a Account) QueueARN(name string) string { return a.arn("sqs", name) }

// FunctionARN is the ARN of a Lambda function.
func (a Account) FunctionARN(name string) string { return a.arn("lambda", "function:"+name) }

// StateMachineARN is the ARN of a state machine.
func (a Account) StateMachineARN(name string) string { return a.arn("states", "stateMachine:"+name) }

// ExecutionsARN matches every execution of a state machine (DescribeExecution is
// authorised on execution ARNs, not on the state machine's).
func (a Account) ExecutionsARN(stateMachine string) string {
	return a.arn("states", "execution:"+stateMachine+":*")
}

// IntegrationARN is the Resource of a Step Functions service integration task.
func (a Account) IntegrationARN(service, action string) string {
	return fmt.Sprintf("arn:%s:states:::%s:%s", a.Partition, service, action)
}

// LogGroupARN is the ARN of a log group's streams.
func (a Account) LogGroupARN(name string) string { return a.arn("logs", "log-group:"+name+":*") }

// RoleARN is the ARN of an IAM role (IAM is global: no Region).
func (a Account) RoleARN(name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", a.Partition, a.ID, name)
}

// BucketARN is the ARN of an S3 bucket, ObjectARN of keys matching pattern in it.
func (a Account) BucketARN(bucket string) string {
	return fmt.Sprintf("arn:%s:s3:::%s", a.Partition, bucket)
}

// ObjectARN is the ARN of the objects of bucket whose keys match pattern.
func (a Account) ObjectARN(bucket, pattern string) string { return a.BucketARN(bucket) + "/" + pattern }

// FoundationModelARN is the ARN of a foundation model in region ("*": every Region).
func (a Account) FoundationModelARN(region, modelID string) string {
	return fmt.Sprintf("arn:%s:bedrock:%s::foundation-model/%s", a.Partition, region, modelID)
}

// InferenceProfileARN is the ARN of a (system-defined) inference profile in this account.
func (a Account) InferenceProfileARN(profileID string) string {
	return a.arn("bedrock", "inference-profile/"+profileID)
}

// ModelARNs are the resources bedrock:InvokeModel needs for one model id. A
// cross-region inference profile (us.…, global.…) needs the profile and the
// foundation model in every Region the profile routes to.
func (a Account) ModelARNs(modelID string) []string {
	base := StripProfilePrefix(modelID)
	if base == modelID {
		return []string{a.FoundationModelARN(a.Region, modelID)}
	}
	return []string{a.InferenceProfileARN(modelID), a.FoundationModelARN("*", base)}
}

// SoldThroughMarketplace reports whether a model comes from a third-party provider:
// Bedrock subscribes the account to such a model through AWS Marketplace on its
// first invocation, which needs Marketplace permissions (Bedrock user guide,
// "Request access to models"). Amazon's own models need none.
func SoldThroughMarketplace(modelID string) bool {
	return !strings.HasPrefix(StripProfilePrefix(modelID), "amazon.")
}
