package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/sample"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// iamCase deploys a stack whose roles edit changed, runs one scenario and expects
// AccessDenied naming action in what the scenario returned or logged.
type iamCase struct {
	name   string
	edit   func(t *testing.T, names contract.Names, roles []spec.Role) []spec.Role
	run    func(ctx context.Context, t *testing.T, st *Stack) error
	action string // the action AccessDenied must name
}

// without removes the statement sid from the role named role.
func without(role func(contract.Names) string, sid string) func(*testing.T, contract.Names, []spec.Role) []spec.Role {
	return func(t *testing.T, n contract.Names, roles []spec.Role) []spec.Role {
		i := slices.IndexFunc(roles, func(r spec.Role) bool { return r.Name == role(n) })
		if i < 0 || !slices.ContainsFunc(roles[i].Statements, func(s spec.Statement) bool { return s.Sid == sid }) {
			t.Fatalf("role %s has no statement %s", role(n), sid)
		}
		roles[i] = roles[i].Without(sid)
		return roles
	}
}

// TestEveryDeclaredStatementIsNeeded: for each handler and the state machine, the
// scenario that needs one of its statements fails with AccessDenied once the
// statement is removed, which shows the local cloud enforces the declared policies.
func TestEveryDeclaredStatementIsNeeded(t *testing.T) {
	ctx := context.Background()
	cloud, err := localcloud.Start(ctx, localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}})
	if errors.Is(err, localcloud.ErrMotoMissing) {
		t.Skip("local cloud unavailable: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()

	discoverRole := func(n contract.Names) string { return n.DiscoverFunction }
	for i, tc := range []iamCase{{
		name: "discover without its status table statement",
		edit: without(discoverRole, "StatusTable"),
		run: func(ctx context.Context, t *testing.T, st *Stack) error {
			_, err := st.Discover.Handle(ctx, discover.Event{})
			return err
		},
		action: "dynamodb:BatchGetItem",
	}, {
		// The role main shipped (issue 10): reads, PutItem and Query, but not the
		// UpdateItem that marks every job QUEUED. Discovery published nothing.
		name: "discover with the status grants it had before",
		edit: func(t *testing.T, n contract.Names, roles []spec.Role) []spec.Role {
			roles = without(discoverRole, "StatusTable")(t, n, roles)
			roles = without(discoverRole, "StatusIndex")(t, n, roles)
			i := slices.IndexFunc(roles, func(r spec.Role) bool { return r.Name == n.DiscoverFunction })
			table := localcloud.Account.TableARN(n.StatusTable)
			roles[i].Statements = append(roles[i].Statements, spec.Statement{Sid: "StatusTable",
				Actions:   []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Query"},
				Resources: []string{table, table + "/index/" + contract.StatusIndex}})
			return roles
		},
		run: func(ctx context.Context, t *testing.T, st *Stack) error {
			res, err := st.Discover.Handle(ctx, discover.Event{})
			if err == nil && res.Published != 0 {
				t.Errorf("published %d jobs without UpdateItem", res.Published)
			}
			return err
		},
		action: "dynamodb:UpdateItem",
	}, {
		name: "invoke without states:StartExecution and ListExecutions",
		edit: without(func(n contract.Names) string { return n.InvokeFunction }, "Start"),
		run: func(ctx context.Context, t *testing.T, st *Stack) error {
			_, err := st.Invoke().Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: `{}`,
				Attributes: map[string]string{"MessageGroupId": "g", "ApproximateReceiveCount": "1"}}}})
			return err
		},
		action: "states:ListExecutions",
	}, {
		// (The gateway's bedrock:InvokeModel check: localcloud's TestGatewayChecksInvokeAndModel.)
		name: "enrich without its Bronze objects statement",
		edit: without(func(n contract.Names) string { return n.EnrichFunction }, "BronzeObjects"),
		run: func(ctx context.Context, t *testing.T, st *Stack) error {
			_, err := st.Enrich.Handle(ctx, passInput(ctx, t, st, "4711"))
			return err
		},
		action: "s3:GetObject",
	}, {
		name: "cleanup without its semaphore statement",
		edit: without(func(n contract.Names) string { return n.CleanupFunction }, "Semaphore"),
		run: func(ctx context.Context, t *testing.T, st *Stack) error {
			_, err := st.Cleanup.Sweep(ctx)
			return err
		},
		action: "dynamodb:GetItem",
	}, {
		name: "state machine without lambda:InvokeFunction",
		edit: func(t *testing.T, n contract.Names, roles []spec.Role) []spec.Role {
			i := slices.IndexFunc(roles, func(r spec.Role) bool { return r.Name == n.StateMachineRole })
			j := slices.IndexFunc(roles[i].Statements, func(s spec.Statement) bool { return slices.Contains(s.Actions, "lambda:InvokeFunction") })
			if j < 0 {
				t.Fatal("the state machine declares no lambda:InvokeFunction")
			}
			return without(func(contract.Names) string { return n.StateMachineRole }, roles[i].Statements[j].Sid)(t, n, roles)
		},
		run:    runExecution,
		action: "lambda:InvokeFunction",
	}, {
		// The release's handover: the waiter is woken by SendTaskSuccess.
		name: "state machine without states:SendTaskSuccess",
		edit: func(t *testing.T, n contract.Names, roles []spec.Role) []spec.Role {
			i := slices.IndexFunc(roles, func(r spec.Role) bool { return r.Name == n.StateMachineRole })
			j := slices.IndexFunc(roles[i].Statements, func(s spec.Statement) bool { return slices.Contains(s.Actions, "states:SendTaskSuccess") })
			if j < 0 {
				t.Fatal("the state machine declares no states:SendTaskSuccess")
			}
			return without(func(contract.Names) string { return n.StateMachineRole }, roles[i].Statements[j].Sid)(t, n, roles)
		},
		run:    runHandover,
		action: "states:SendTaskSuccess",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stacks.Defaults("dev")
			if err != nil {
				t.Fatal(err)
			}
			s.Stack = fmt.Sprintf("iam%d", i)
			s.BronzeBucket, s.SilverBucket = s.Stack+"-bronze", s.Stack+"-silver"
			var logs bytes.Buffer
			st, err := Deploy(ctx, cloud, contract.NamesFor(s.Stack), s, Options{
				Log:   slog.New(slog.NewJSONHandler(&logs, nil)),
				Roles: func(roles []spec.Role) []spec.Role { return tc.edit(t, contract.NamesFor(s.Stack), roles) },
			})
			if err != nil {
				t.Fatal(err)
			}
			parts := sample.Partitions(time.Now().UTC().Add(-24*time.Hour), 1)
			if _, err := sample.WritePartitions(ctx, s3.NewFromConfig(st.Config), s.SilverBucket, s.SilverPrefix, parts, 2, 5); err != nil {
				t.Fatal(err)
			}
			err = tc.run(ctx, t, st)
			seen := logs.String()
			if err != nil {
				seen += err.Error()
			}
			if !strings.Contains(seen, "AccessDenied") || !strings.Contains(seen, tc.action) {
				t.Errorf("no AccessDenied naming %s; error %v, logs:\n%s", tc.action, err, logs.String())
			}
		})
	}
}

// passInput stores a posting of job in Bronze (as the operator) and returns pass1's input.
func passInput(ctx context.Context, t *testing.T, st *Stack, job string) contract.PassInput {
	t.Helper()
	key, err := bronze.New(s3.NewFromConfig(st.Config), st.Settings.BronzeBucket).PutPosting(ctx, contract.Posting{
		JobPostingID: job, CompanyName: "Acme", JobTitle: "Data Engineer", JobLocation: "Lisbon",
		DescriptionText: "Build pipelines in Go and SQL on AWS.",
	})
	if err != nil {
		t.Fatal(err)
	}
	return contract.PassInput{PassName: contract.Pass1, JobData: contract.JobRef{JobPostingID: job, PostingKey: key}, ExecutionID: "job-" + job + "-iam"}
}

// runExecution runs one job through the state machine and returns its failure, with
// the history's causes, as an error.
func runExecution(ctx context.Context, t *testing.T, st *Stack) error {
	c := sfn.NewFromConfig(st.Config)
	arn := startJob(ctx, t, st, "4712")
	waitEnded(t, c, arn)
	return causes(ctx, t, c, arn)
}

// runHandover parks one execution on a full semaphore, then runs another through the
// one slot left: its release wakes the first (SendTaskSuccess); the causes of the
// releasing execution's failed tasks are returned as an error.
func runHandover(ctx context.Context, t *testing.T, st *Stack) error {
	c := sfn.NewFromConfig(st.Config)
	db := dynamodb.NewFromConfig(st.Config)
	setCount := func(n int) { localcloud.SetSemaphoreCount(t, db, st.Names.SemaphoreTable, n) }
	sem, err := semaphore.New(db, st.Names.SemaphoreTable).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	full := sem.Limit() // the effective limit, which a deploy may start below the maximum
	setCount(full)
	waiter := startJob(ctx, t, st, "4713")
	for i := 0; !waiting(ctx, t, st); i++ {
		if i == 300 {
			t.Fatalf("%s never waited for a slot", waiter)
		}
		time.Sleep(100 * time.Millisecond)
	}
	setCount(full - 1)
	arn := startJob(ctx, t, st, "4714")
	for i := 0; ; i++ {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		if i == 600 {
			var states []string
			for _, e := range history(ctx, t, c, arn) {
				if e.StateEnteredEventDetails != nil {
					states = append(states, aws.ToString(e.StateEnteredEventDetails.Name))
				}
			}
			t.Fatalf("%s still running after a minute: %v", arn, states)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return causes(ctx, t, c, arn)
}

// startJob starts the execution of a job whose posting it stores first.
func startJob(ctx context.Context, t *testing.T, st *Stack, job string) string {
	in := passInput(ctx, t, st, job)
	input, err := json.Marshal(contract.ExecutionInput{JobData: in.JobData, ExecutionID: in.ExecutionID})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sfn.NewFromConfig(st.Config).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.Resources.StateMachineARN),
		Name: aws.String(in.ExecutionID), Input: aws.String(string(input))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

func history(ctx context.Context, t *testing.T, c *sfn.Client, arn string) []sfntypes.HistoryEvent {
	hist, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return hist.Events
}

// waiting reports whether a waiter's token is in the semaphore item: entering
// WaitForSlot is not enough, its write may still be on the way.
func waiting(ctx context.Context, t *testing.T, st *Stack) bool {
	out, err := dynamodb.NewFromConfig(st.Config).GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Names.SemaphoreTable),
		Key:            map[string]ddbtypes.AttributeValue{contract.SemaphoreKey: &ddbtypes.AttributeValueMemberS{Value: contract.SemaphoreLockName}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := out.Item[contract.SemaphoreWaiters].(*ddbtypes.AttributeValueMemberL)
	return ok && len(l.Value) > 0
}

// causes joins the errors and causes of the execution's failed tasks and its failure.
func causes(ctx context.Context, t *testing.T, c *sfn.Client, arn string) error {
	var out []string
	for _, e := range history(ctx, t, c, arn) {
		if d := e.TaskFailedEventDetails; d != nil {
			out = append(out, aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
		}
		if d := e.ExecutionFailedEventDetails; d != nil {
			out = append(out, aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
		}
	}
	return errors.New(strings.Join(out, "\n"))
}
