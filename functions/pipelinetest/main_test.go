// Package pipelinetest executes the generated state machine in the local cloud (moto
// runs the ASL, the gateway routes its Lambda invocations to the real EnrichPartition
// handler and its model calls to the Bedrock emulator) and checks what it leaves in
// DynamoDB and Bronze.
package pipelinetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/metrics"
	"github.com/aienrichment/ai-enrichment/functions/semaphore"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// env is what every test uses, set up once in TestMain.
var env struct {
	settings stacks.Settings
	names    contract.Names
	fnARN    string
	res      localcloud.Resources
	sfn      *sfn.Client
	s3       *s3.Client
	db       *dynamodb.Client
	status   *status.Store
	sem      *semaphore.Semaphore
	sqs      *sqs.Client

	mu    sync.Mutex
	crash map[string]bool // jobs whose EnrichPartition invocation crashes the runtime
}

func TestMain(m *testing.M) {
	opts := localcloud.Options{Bedrock: bedrockemu.Options{Offline: offline.Answer}}
	os.Exit(localcloud.RunTests(m, opts, setup))
}

// testSettings are the dev stack's with short waits and few attempts so every path
// runs in seconds; the structure of the definition is the deployed one.
func testSettings() (stacks.Settings, error) {
	s, err := stacks.Defaults("dev")
	if err != nil {
		return s, err
	}
	s.BronzeBucket, s.SilverBucket = "itest-bronze", "itest-silver"
	s.MaxConcurrentExecutions = 2
	s.MaxAttempts = 2
	s.SlotWait = time.Second
	s.SlotWaitAttempts = 120
	s.ThrottleRetryInterval = time.Second
	s.ThrottleRetryMaxDelay = 2 * time.Second
	s.ThrottleRetryAttempts = 2
	return s, nil
}

func setup(c *localcloud.Cloud) error {
	ctx := context.Background()
	s, err := testSettings()
	if err != nil {
		return err
	}
	n := contract.NamesFor(s.Stack)
	fnARN := localcloud.Account.FunctionARN(n.EnrichFunction)
	m, err := workflow.Pipeline(n, s, localcloud.Account)
	if err != nil {
		return err
	}
	def, err := m.JSON()
	if err != nil {
		return err
	}
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		return err
	}
	res, err := localcloud.Provision(ctx, cfg, n, s, string(def), m.Role(n.StateMachineRole))
	if err != nil {
		return err
	}
	h, err := enrichpartition.New(cfg, cfg, enrichpartition.Options{
		BronzeBucket:    s.BronzeBucket,
		Models:          map[contract.Pass]string{contract.Pass1: s.ModelPass1, contract.Pass2: s.ModelPass2, contract.Pass3: s.ModelPass3},
		BreakerFailures: 1000, // one handler serves every test: no test may open another's breaker
		BreakerCooldown: time.Second,
	}, slog.New(slog.DiscardHandler), metrics.New(io.Discard, contract.MetricsNamespace))
	if err != nil {
		return err
	}
	env.crash = map[string]bool{}
	c.RegisterFunction(n.EnrichFunction, localcloud.JSONHandler(func(ctx context.Context, in contract.PassInput) (contract.PassOutput, error) {
		env.mu.Lock()
		crash := env.crash[in.JobData.JobPostingID]
		env.mu.Unlock()
		if crash {
			panic("simulated runtime crash")
		}
		return h.Handle(ctx, in)
	}))
	db := dynamodb.NewFromConfig(cfg)
	env.settings, env.names, env.res, env.fnARN = s, n, res, fnARN
	env.sfn, env.s3, env.db = sfn.NewFromConfig(cfg), s3.NewFromConfig(cfg), db
	env.status = status.New(db, n.StatusTable)
	env.sem = semaphore.New(db, n.SemaphoreTable)
	env.sqs = sqs.NewFromConfig(cfg)
	return nil
}

// cloud returns the shared cloud with the emulator's faults and log cleared.
func cloud(t *testing.T) *localcloud.Cloud {
	t.Helper()
	c := localcloud.Shared(t)
	c.Bedrock().Reset()
	t.Cleanup(c.Bedrock().Reset)
	return c
}

// putPosting stores a posting in Bronze as discovery does.
func putPosting(t *testing.T, id string, descriptionChars int) contract.JobRef {
	t.Helper()
	desc := strings.Repeat("Build data pipelines in Go and SQL on AWS. ", descriptionChars/43+1)[:descriptionChars]
	p := contract.Posting{
		JobPostingID: id, CompanyName: "Acme Data", JobTitle: "Data Engineer", JobLocation: "Berlin, Germany",
		DescriptionText: desc, DescriptionChars: len(desc),
	}
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	key := contract.PostingKey(id)
	_, err = env.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(env.settings.BronzeBucket), Key: aws.String(key), Body: strings.NewReader(string(body)),
	})
	if err != nil {
		t.Fatalf("put posting %s: %v", id, err)
	}
	return contract.JobRef{JobPostingID: id, PostingKey: key}
}

// execution is a finished execution and its history.
type execution struct {
	Status sfntypes.ExecutionStatus
	Error  string
	Events []sfntypes.HistoryEvent
}

// start starts an execution of job with a name unique to the attempt.
func start(t *testing.T, job contract.JobRef, nonce string, force bool) string {
	t.Helper()
	return startOn(t, env.res.StateMachineARN, job, nonce, force)
}

func startOn(t *testing.T, stateMachineARN string, job contract.JobRef, nonce string, force bool) string {
	t.Helper()
	name := contract.ExecutionName(job.JobPostingID, nonce)
	in, err := json.Marshal(contract.ExecutionInput{JobData: job, ExecutionID: name, Force: force})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN), Name: aws.String(name), Input: aws.String(string(in)),
	})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return aws.ToString(out.ExecutionArn)
}

// finish polls until the execution ends (moto runs it in the background), bounded.
func finish(t *testing.T, arn string) execution {
	t.Helper()
	ctx := context.Background()
	for range 1500 {
		d, err := env.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("describe %s: %v", arn, err)
		}
		if d.Status == sfntypes.ExecutionStatusRunning {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var events []sfntypes.HistoryEvent
		p := sfn.NewGetExecutionHistoryPaginator(env.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("history of %s: %v", arn, err)
			}
			events = append(events, page.Events...)
		}
		return execution{Status: d.Status, Error: aws.ToString(d.Error), Events: events}
	}
	t.Fatalf("execution %s still running after 5 minutes", arn)
	return execution{}
}

func run(t *testing.T, job contract.JobRef, nonce string, force bool) execution {
	t.Helper()
	return finish(t, start(t, job, nonce, force))
}

// entered lists the states the execution entered, in order.
func (e execution) entered() []string {
	var out []string
	for _, ev := range e.Events {
		if ev.StateEnteredEventDetails != nil {
			out = append(out, aws.ToString(ev.StateEnteredEventDetails.Name))
		}
	}
	return out
}

func (e execution) visited(state string) int {
	n := 0
	for _, s := range e.entered() {
		if s == state {
			n++
		}
	}
	return n
}

// last is the final state entered.
func (e execution) last() string {
	s := e.entered()
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// endedAt is the time of the last history event.
func (e execution) endedAt() time.Time {
	if len(e.Events) == 0 {
		return time.Time{}
	}
	return aws.ToTime(e.Events[len(e.Events)-1].Timestamp)
}

// largestPayload is the biggest state input or output in the history, in bytes.
func (e execution) largestPayload() int {
	largest := 0
	for _, ev := range e.Events {
		if d := ev.StateEnteredEventDetails; d != nil {
			largest = max(largest, len(aws.ToString(d.Input)))
		}
		if d := ev.StateExitedEventDetails; d != nil {
			largest = max(largest, len(aws.ToString(d.Output)))
		}
	}
	return largest
}

// requireSucceeded and friends fail with the path taken, which is what explains a failure.
func requireStatus(t *testing.T, e execution, want sfntypes.ExecutionStatus, lastState string) {
	t.Helper()
	if e.Status != want || e.last() != lastState {
		t.Fatalf("execution %s ending in %s (error %q), want %s ending in %s; path: %v", e.Status, e.last(), e.Error, want, lastState, e.entered())
	}
}

// requireSlotsFree checks that no slot is held and no holder is left.
func requireSlotsFree(t *testing.T) {
	t.Helper()
	st, err := env.sem.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 0 || len(st.Holders) != 0 {
		t.Fatalf("semaphore count %d with holders %v, want 0 and none", st.Count, st.Holders)
	}
}

func jobStatus(t *testing.T, id string) status.Job {
	t.Helper()
	j, err := env.status.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// modelCalls counts the emulator's calls for a job, per pass.
func modelCalls(c *localcloud.Cloud, id string) [3]int {
	var n [3]int
	for i, p := range contract.Passes {
		n[i] = c.Bedrock().Count(id, p)
	}
	return n
}

func setCrash(id string, on bool) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.crash[id] = on
}
