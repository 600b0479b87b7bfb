package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Account is where the stack deploys. ARNs are built from it as plain strings, so
// policies and the state machine definition are known before anything exists and
// nothing waits on another resource's outputs.
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

// QueueARN is the ARN of an SQS queue.
func (a Account) QueueARN(name string) string { return a.arn("sqs", name) }

// FunctionARN is the ARN of a Lambda function.
func (a Account) FunctionARN(name string) string { return a.arn("lambda", "function:"+name) }

// StateMachineARN is the ARN of a state machine.
func (a Account) StateMachineARN(name string) string { return a.arn("states", "stateMachine:"+name) }

// ExecutionsARN matches every execution of a state machine (DescribeExecution is
// authorised on execution ARNs, not on the state machine's).
func (a Account) ExecutionsARN(name string) string { return a.arn("states", "execution:"+name+":*") }

func (a Account) logGroupARN(name string) string { return a.arn("logs", "log-group:"+name+":*") }

func (a Account) bucketARN(bucket, key string) string {
	if key == "" {
		return fmt.Sprintf("arn:%s:s3:::%s", a.Partition, bucket)
	}
	return fmt.Sprintf("arn:%s:s3:::%s/%s", a.Partition, bucket, key)
}

// ModelARNs are the resources bedrock:InvokeModel needs for one model id. A
// cross-region inference profile (us.…, global.…) needs the profile and the
// foundation model in every Region the profile routes to.
func (a Account) ModelARNs(modelID string) []string {
	base := contract.StripProfilePrefix(modelID)
	if base == modelID {
		return []string{fmt.Sprintf("arn:%s:bedrock:%s::foundation-model/%s", a.Partition, a.Region, modelID)}
	}
	return []string{
		a.arn("bedrock", "inference-profile/"+modelID),
		fmt.Sprintf("arn:%s:bedrock:*::foundation-model/%s", a.Partition, base),
	}
}

// Statement is one Allow statement of an IAM policy.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []string
	Condition map[string]map[string][]string
}

// Policy renders statements as an IAM policy document.
func Policy(stmts []Statement) (string, error) {
	type stmt struct {
		Sid       string                         `json:"Sid,omitempty"`
		Effect    string                         `json:"Effect"`
		Action    []string                       `json:"Action"`
		Resource  []string                       `json:"Resource"`
		Condition map[string]map[string][]string `json:"Condition,omitempty"`
	}
	doc := struct {
		Version   string `json:"Version"`
		Statement []stmt `json:"Statement"`
	}{Version: "2012-10-17"}
	for _, s := range stmts {
		for _, a := range s.Actions {
			if strings.Contains(a, "*") {
				return "", fmt.Errorf("statement %q: wildcard action %q", s.Sid, a)
			}
		}
		doc.Statement = append(doc.Statement, stmt{s.Sid, "Allow", s.Actions, s.Resources, s.Condition})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("render policy: %w", err)
	}
	return string(b), nil
}

// trustPolicy lets one AWS service assume a role.
func trustPolicy(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service +
		`"},"Action":"sts:AssumeRole"}]}`
}
