package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/discover"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/invoke"
	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/infra/pipeline"
	"github.com/aienrichment/ai-enrichment/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

var testAcct = contract.Account{Partition: "aws", Region: testRegion, ID: testAccount}

// created is one resource the program registered.
type created struct {
	typ, name, parent string
	inputs            map[string]any
	ignoreChanges     []string
}

// mocks records every resource and answers the account lookups.
type mocks struct {
	mu        sync.Mutex
	resources []created
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	c := created{typ: args.TypeToken, name: args.Name, inputs: args.Inputs.Mappable()}
	if rpc := args.RegisterRPC; rpc != nil {
		c.parent, c.ignoreChanges = rpc.GetParent(), rpc.GetIgnoreChanges()
	}
	m.mu.Lock()
	m.resources = append(m.resources, c)
	m.mu.Unlock()
	state := args.Inputs.Copy()
	state["arn"] = resource.NewStringProperty("arn:aws:mock:" + testRegion + ":" + testAccount + ":" + args.Name)
	state["url"] = resource.NewStringProperty("https://sqs.mock/" + args.Name)
	return args.Name + "-id", state, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": testAccount, "arn": "arn:aws:iam::" + testAccount + ":user/ci", "userId": "ci"}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": testRegion}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"}), nil
	}
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}

func (m *mocks) of(typ string) []created {
	var out []created
	for _, r := range m.resources {
		if r.typ == typ {
			out = append(out, r)
		}
	}
	return out
}

func (m *mocks) named(t *testing.T, typ, name string) created {
	t.Helper()
	for _, r := range m.of(typ) {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return created{}
}

// fakeCode stands in for the lambdapack archives (lambdapack tests the real ones).
func fakeCode() map[string]pulumi.Archive {
	code := map[string]pulumi.Archive{}
	for _, fn := range pipeline.Functions {
		code[fn] = pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewStringAsset(fn)})
	}
	return code
}

// stackConfig reads the real Pulumi.<stack>.yaml, with overrides.
func stackConfig(t *testing.T, stack string, overrides map[string]string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ConfigMap(b)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		cfg[stacks.Namespace+":"+k] = v
	}
	return cfg
}

// deploy runs the program under mocks with cfg as the stack config, handed over the
// way the language host does: the PULUMI_CONFIG variable the SDK reads.
func deploy(stack string, cfg map[string]string) (*mocks, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	prev, had := os.LookupEnv(pulumi.EnvConfig)
	os.Setenv(pulumi.EnvConfig, string(raw))
	defer func() {
		if had {
			os.Setenv(pulumi.EnvConfig, prev)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	m := &mocks{}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error { return program(ctx, fakeCode()) },
		pulumi.WithMocks(contract.Project, stack, m))
	return m, err
}

func TestStacks(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := stackConfig(t, stack, nil)
			s, err := stacks.FromConfig(stack, cfg)
			if err != nil {
				t.Fatal(err)
			}
			m, err := deploy(stack, cfg)
			if err != nil {
				t.Fatal(err)
			}
			names := contract.NamesFor(stack)
			t.Run("inventory", func(t *testing.T) { checkInventory(t, m, s) })
			t.Run("queues", func(t *testing.T) { checkQueues(t, m, s, names) })
			t.Run("tables", func(t *testing.T) { checkTables(t, m, s, names) })
			t.Run("functions", func(t *testing.T) { checkFunctions(t, m, s, names) })
			t.Run("iam", func(t *testing.T) { checkIAM(t, m, s) })
			t.Run("state machine", func(t *testing.T) { checkStateMachine(t, m, s, names) })
			t.Run("alarms", func(t *testing.T) { checkAlarms(t, m, s) })
			t.Run("dashboard", func(t *testing.T) { checkDashboard(t, m, s) })
			t.Run("triggers", func(t *testing.T) { checkTriggers(t, m, s, names) })
		})
	}
}

func checkInventory(t *testing.T, m *mocks, s stacks.Settings) {
	want := map[string]int{
		pipeline.Type:                                      1,
		"aws:dynamodb/table:Table":                         2,
		"aws:dynamodb/tableItem:TableItem":                 1,
		"aws:sqs/queue:Queue":                              2,
		"aws:cloudwatch/logGroup:LogGroup":                 5,
		"aws:iam/role:Role":                                5,
		"aws:lambda/function:Function":                     4,
		"aws:lambda/eventSourceMapping:EventSourceMapping": 1,
		"aws:sfn/stateMachine:StateMachine":                1,
		"aws:cloudwatch/eventRule:EventRule":               3,
		"aws:cloudwatch/eventTarget:EventTarget":           3,
		"aws:lambda/permission:Permission":                 3,
		"aws:cloudwatch/metricAlarm:MetricAlarm":           len(wantAlarms(s)),
		"aws:cloudwatch/dashboard:Dashboard":               1,
	}
	got := map[string]int{}
	var component string
	for _, r := range m.resources {
		got[r.typ]++
		if r.typ == pipeline.Type {
			component = r.name
		}
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %d, want %d", typ, got[typ], n)
		}
	}
	for typ := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("unexpected resource type %s", typ)
		}
	}
	for _, r := range m.resources {
		if r.typ == pipeline.Type {
			continue
		}
		if !strings.HasSuffix(r.parent, "::"+component) {
			t.Errorf("%s %s is not parented to the component: %q", r.typ, r.name, r.parent)
		}
		if !strings.HasPrefix(r.name, contract.Project+"-") {
			t.Errorf("%s %s is not name-prefixed", r.typ, r.name)
		}
	}
}

func checkQueues(t *testing.T, m *mocks, s stacks.Settings, names contract.Names) {
	jobs := m.named(t, "aws:sqs/queue:Queue", names.Queue).inputs
	dlq := m.named(t, "aws:sqs/queue:Queue", names.DeadLetterQueue).inputs
	for _, q := range []map[string]any{jobs, dlq} {
		if q["fifoQueue"] != true || q["sqsManagedSseEnabled"] != true || q["messageRetentionSeconds"] != float64(14*24*3600) {
			t.Errorf("queue %v: want FIFO, encrypted, 14 days retention", q["name"])
		}
	}
	var redrive struct {
		DeadLetterTargetArn string
		MaxReceiveCount     int
	}
	if err := json.Unmarshal([]byte(jobs["redrivePolicy"].(string)), &redrive); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(redrive.DeadLetterTargetArn, names.DeadLetterQueue) || redrive.MaxReceiveCount != s.QueueMaxReceives {
		t.Errorf("redrive %+v", redrive)
	}
	if v := jobs["visibilityTimeoutSeconds"].(float64); v < 6*s.InvokeTimeout.Seconds() {
		t.Errorf("visibility %vs does not cover 6 × invoke timeout %s", v, s.InvokeTimeout)
	}
}

func checkTables(t *testing.T, m *mocks, s stacks.Settings, names contract.Names) {
	for _, name := range []string{names.SemaphoreTable, names.StatusTable} {
		tbl := m.named(t, "aws:dynamodb/table:Table", name).inputs
		if tbl["billingMode"] != "PAY_PER_REQUEST" || tbl["pointInTimeRecovery"].(map[string]any)["enabled"] != true ||
			tbl["serverSideEncryption"].(map[string]any)["enabled"] != true {
			t.Errorf("table %s: %v", name, tbl)
		}
	}
	gsi := m.named(t, "aws:dynamodb/table:Table", names.StatusTable).inputs["globalSecondaryIndexes"].([]any)[0].(map[string]any)
	if gsi["name"] != contract.StatusIndex || gsi["hashKey"] != contract.AttrOverallStatus || gsi["rangeKey"] != contract.AttrUpdatedAt {
		t.Errorf("GSI %v", gsi)
	}
	item := m.of("aws:dynamodb/tableItem:TableItem")[0]
	if !slices.Contains(item.ignoreChanges, "item") {
		t.Errorf("the semaphore item would be reset by a later up: ignoreChanges %v", item.ignoreChanges)
	}
	var seeded map[string]map[string]string
	if err := json.Unmarshal([]byte(item.inputs["item"].(string)), &seeded); err != nil {
		t.Fatal(err)
	}
	if seeded[contract.SemaphoreKey]["S"] != contract.SemaphoreLockName || seeded[contract.SemaphoreCount]["N"] != "0" ||
		seeded[contract.SemaphoreMax]["N"] != fmt.Sprint(s.MaxConcurrentExecutions) {
		t.Errorf("seed %v", seeded)
	}
	// An adapting stack starts at the controller's initial limit, not at the maximum
	// until a pass first reports.
	if limit, ok := seeded[contract.SemaphoreLimit]; ok != s.AdaptiveConcurrency || ok && limit["N"] != fmt.Sprint(s.InitialLimit()) {
		t.Errorf("seed %v: want effective limit %d (adaptive %v)", seeded, s.InitialLimit(), s.AdaptiveConcurrency)
	}
}

func checkFunctions(t *testing.T, m *mocks, s stacks.Settings, names contract.Names) {
	timeouts := map[string]float64{
		names.DiscoverFunction: s.DiscoverTimeout.Seconds(), names.InvokeFunction: s.InvokeTimeout.Seconds(),
		names.EnrichFunction: s.PassTimeout.Seconds(), names.CleanupFunction: s.CleanupTimeout.Seconds(),
	}
	for name, timeout := range timeouts {
		f := m.named(t, "aws:lambda/function:Function", name).inputs
		if f["runtime"] != "provided.al2023" || f["handler"] != "bootstrap" || !slices.Equal(f["architectures"].([]any), []any{"arm64"}) {
			t.Errorf("%s: runtime %v handler %v architectures %v", name, f["runtime"], f["handler"], f["architectures"])
		}
		if f["timeout"] != timeout {
			t.Errorf("%s: timeout %v, want %v", name, f["timeout"], timeout)
		}
		logging := f["loggingConfig"].(map[string]any)
		if logging["logFormat"] != "JSON" || logging["logGroup"] != "/aws/lambda/"+name {
			t.Errorf("%s: logging %v", name, logging)
		}
		if f["tracingConfig"].(map[string]any)["mode"] != "Active" {
			t.Errorf("%s: tracing off", name)
		}
	}
	checkEnvironmentIsDeclared(t, m, names, s)
	enrich := m.named(t, "aws:lambda/function:Function", names.EnrichFunction).inputs
	if enrich["reservedConcurrentExecutions"] != float64(s.ReservedConcurrency()) {
		t.Errorf("enrich reserved concurrency %v", enrich["reservedConcurrentExecutions"])
	}
	for _, lg := range m.of("aws:cloudwatch/logGroup:LogGroup") {
		if lg.inputs["retentionInDays"] != float64(s.LogRetentionDays) {
			t.Errorf("log group %s retention %v", lg.name, lg.inputs["retentionInDays"])
		}
	}
}

// checkEnvironmentIsDeclared: each function gets exactly the variables its handler
// declares (functions/manifest), and its own loader accepts them, so a variable the
// code needs and the program forgets fails here rather than at the first cold start.
func checkEnvironmentIsDeclared(t *testing.T, m *mocks, names contract.Names, s stacks.Settings) {
	for _, f := range manifest.Functions {
		name := f.FunctionName(names)
		got := m.named(t, "aws:lambda/function:Function", name).inputs["environment"].(map[string]any)["variables"].(map[string]any)
		t.Run("env "+name, func(t *testing.T) {
			queueURL, _ := got[contract.EnvQueueURL].(string)
			want := f.Environment(spec.Stack{Account: testAcct, Names: names, Settings: s, QueueURL: queueURL})
			if len(got) != len(want) {
				t.Errorf("%s: env %v, want %v", name, got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s=%v, want %q", name, k, got[k], v)
				}
				t.Setenv(k, v)
			}
			if err := load[f.FunctionKey()](); err != nil {
				t.Errorf("%s rejects the environment the program sets: %v", name, err)
			}
		})
	}
}

// load is each handler's loader in Lambda.
var load = map[string]func() error{
	discover.Spec.Key:        func() error { _, err := discover.Spec.FromEnv(); return err },
	invoke.Spec.Key:          func() error { _, err := invoke.Spec.FromEnv(); return err },
	enrichpartition.Spec.Key: func() error { _, err := enrichpartition.Spec.FromEnv(); return err },
	cleanup.Spec.Key:         func() error { _, err := cleanup.Spec.FromEnv(); return err },
}

type policyDoc struct {
	Statement []struct {
		Sid       string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

// unscopable are the actions AWS authorises only on "*".
var unscopable = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
	"xray:GetSamplingTargets", "logs:CreateLogDelivery", "logs:GetLogDelivery",
	"logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
	"logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
	"aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions",
	// A callback's task token names the task; IAM has no resource for it (only an
	// activity's tokens can be scoped, to the activity), so the slot handover's
	// SendTaskSuccess is allowed on "*" (Service Authorization Reference, AWS Step
	// Functions, SendTaskSuccess).
	"states:SendTaskSuccess"}

func checkIAM(t *testing.T, m *mocks, s stacks.Settings) {
	var models []string
	for _, id := range s.Models() {
		models = append(models, testAcct.ModelARNs(id)...)
	}
	roles := m.of("aws:iam/role:Role")
	for _, role := range roles {
		inline := role.inputs["inlinePolicies"].([]any)
		if len(inline) != 1 {
			t.Fatalf("role %s: %d inline policies", role.name, len(inline))
		}
		var doc policyDoc
		if err := json.Unmarshal([]byte(inline[0].(map[string]any)["policy"].(string)), &doc); err != nil {
			t.Fatal(err)
		}
		for _, st := range doc.Statement {
			for _, a := range st.Action {
				if strings.Contains(a, "*") {
					t.Errorf("role %s: wildcard action %s", role.name, a)
				}
				if strings.HasPrefix(a, "bedrock:") {
					for _, r := range st.Resource {
						if !slices.Contains(models, r) {
							t.Errorf("role %s: bedrock on %s, not a configured model", role.name, r)
						}
					}
				}
			}
			for _, r := range st.Resource {
				if r == "*" {
					for _, a := range st.Action {
						if !slices.Contains(unscopable, a) {
							t.Errorf("role %s: %s on * although AWS allows scoping it", role.name, a)
						}
					}
					continue
				}
				if strings.HasPrefix(r, "arn:aws:s3:::"+s.BronzeBucket+"/") && r != "arn:aws:s3:::"+s.BronzeBucket+"/"+contract.BronzePrefix+"*" {
					t.Errorf("role %s: Bronze access beyond %s: %s", role.name, contract.BronzePrefix, r)
				}
				if strings.Contains(r, ":execution:") && !strings.HasSuffix(r, ":execution:"+contract.NamesFor(s.Stack).StateMachine+":*") {
					t.Errorf("role %s: executions of another state machine: %s", role.name, r)
				}
			}
		}
	}
	if len(roles) != len(pipeline.Functions)+1 {
		t.Errorf("%d roles: want one per function plus the state machine's", len(roles))
	}
}

func checkStateMachine(t *testing.T, m *mocks, s stacks.Settings, names contract.Names) {
	sm := m.named(t, "aws:sfn/stateMachine:StateMachine", names.StateMachine).inputs
	want, err := workflow.Pipeline(names, s, testAcct)
	if err != nil {
		t.Fatal(err)
	}
	def, err := want.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if sm["definition"] != string(def) {
		t.Error("the deployed definition differs from the workflow rendering")
	}
	logging := sm["loggingConfiguration"].(map[string]any)
	if sm["type"] != "STANDARD" || logging["level"] != "ERROR" || logging["includeExecutionData"] != false {
		t.Errorf("type %v logging %v", sm["type"], logging)
	}
	role := m.named(t, "aws:iam/role:Role", names.StateMachine+"-sfn-role").inputs
	policy := role["inlinePolicies"].([]any)[0].(map[string]any)["policy"].(string)
	for _, p := range want.Permissions() {
		for _, a := range p.Actions {
			if !strings.Contains(policy, `"`+a+`"`) {
				t.Errorf("state machine role lacks %s needed by its tasks", a)
			}
		}
	}
}

// alarmWant is what the program must create for one alarm.
type alarmWant struct {
	threshold float64
	op        string // ComparisonOperator
	missing   string // TreatMissingData
}

// wantAlarms is the alarm inventory of a stack, thresholds from its settings.
func wantAlarms(s stacks.Settings) map[string]alarmWant {
	const gt, ge, lt = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"
	const no, yes = "notBreaching", "breaching"
	return map[string]alarmWant{
		pipeline.AlarmDLQDepth:           {float64(s.AlarmDLQMessages), ge, no},
		pipeline.AlarmDLQAge:             {s.AlarmDLQMessageAge.Seconds(), ge, no},
		pipeline.AlarmOldestMessage:      {s.AlarmOldestMessageAge.Seconds(), gt, no},
		pipeline.AlarmErrorRate:          {s.AlarmErrorRatePercent, gt, no},
		pipeline.AlarmLatencyP99:         {float64(s.AlarmP99Latency.Milliseconds()), gt, no},
		pipeline.AlarmSFNFailures:        {float64(s.AlarmSFNFailures), gt, no},
		pipeline.AlarmThrottles:          {float64(s.AlarmThrottles), gt, no},
		pipeline.AlarmDiscoverErrors:     {float64(s.AlarmFunctionErrors), ge, no},
		pipeline.AlarmDiscoverNotRunning: {1, lt, yes},
		pipeline.AlarmDiscoveryStalled:   {1, ge, no},
		pipeline.AlarmPublishFailures:    {float64(s.AlarmPublishFailures), ge, no},
		pipeline.AlarmUnreadableObjects:  {float64(s.AlarmUnreadableObjects), ge, no},
		pipeline.AlarmCursorLag:          {s.AlarmCursorLag.Seconds(), gt, no},
		pipeline.AlarmInvokeErrors:       {float64(s.AlarmFunctionErrors), ge, no},
		pipeline.AlarmInvokeDuration:     {0.8 * float64(s.InvokeTimeout.Milliseconds()), gt, no},
		pipeline.AlarmCleanupErrors:      {float64(s.AlarmFunctionErrors), ge, no},
		pipeline.AlarmCleanupNotRunning:  {1, lt, yes},
		pipeline.AlarmSemaphoreDrift:     {float64(s.AlarmSemaphoreDrift), ge, no},
		pipeline.AlarmOldestJobAge:       {s.AlarmOldestJobAge.Seconds(), gt, no},
		pipeline.AlarmStuckJobs:          {float64(s.AlarmStuckJobs), ge, no},
		pipeline.AlarmFunctionThrottles:  {1, ge, no},
	}
}

// alarmQuery is one entry of an alarm's metricQueries as the mock recorded it.
type alarmQuery struct {
	id, expression string
	namespace      string
	name, stat     string
	period         float64
	dims           map[string]any
}

func queriesOf(a map[string]any) []alarmQuery {
	var out []alarmQuery
	for _, raw := range a["metricQueries"].([]any) {
		q := raw.(map[string]any)
		aq := alarmQuery{id: q["id"].(string)}
		if e, ok := q["expression"].(string); ok {
			aq.expression = e
			aq.period, _ = q["period"].(float64)
		}
		if m, ok := q["metric"].(map[string]any); ok {
			aq.namespace, aq.name, aq.stat = m["namespace"].(string), m["metricName"].(string), m["stat"].(string)
			aq.period, aq.dims = m["period"].(float64), m["dimensions"].(map[string]any)
		}
		out = append(out, aq)
	}
	return out
}

func checkAlarms(t *testing.T, m *mocks, s stacks.Settings) {
	names := contract.NamesFor(s.Stack)
	prefix := contract.Project + "-" + s.Stack + "-"
	want := wantAlarms(s)
	if got := len(m.of("aws:cloudwatch/metricAlarm:MetricAlarm")); got != len(want) {
		t.Errorf("%d alarms, want %d", got, len(want))
	}
	functions := map[string]bool{}
	metrics := map[string]bool{}
	for suffix, w := range want {
		a := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", prefix+suffix).inputs
		if a["threshold"] != w.threshold || a["comparisonOperator"] != w.op || a["treatMissingData"] != w.missing {
			t.Errorf("%s: threshold %v %v, missing data %v; want %v %v, %v", suffix,
				a["comparisonOperator"], a["threshold"], a["treatMissingData"], w.op, w.threshold, w.missing)
		}
		if a["datapointsToAlarm"] != a["evaluationPeriods"] {
			t.Errorf("%s: %v of %v datapoints", suffix, a["datapointsToAlarm"], a["evaluationPeriods"])
		}
		if !strings.HasSuffix(a["alarmDescription"].(string), "docs/operations.md#"+suffix) {
			t.Errorf("%s: description does not link its runbook: %v", suffix, a["alarmDescription"])
		}
		checkAlarmWindow(t, suffix, a)
		for _, q := range queriesOf(a) {
			if fn, ok := q.dims["FunctionName"].(string); ok {
				functions[fn] = true
			}
			if q.namespace == contract.MetricsNamespace {
				metrics[q.name] = true
				if q.dims["Stack"] != s.Stack || len(q.dims) != 1 {
					t.Errorf("%s: %s with dimensions %v, want Stack=%s only", suffix, q.name, q.dims, s.Stack)
				}
			}
		}
	}
	for _, fn := range []string{names.DiscoverFunction, names.InvokeFunction, names.EnrichFunction, names.CleanupFunction} {
		if !functions[fn] {
			t.Errorf("no alarm watches %s", fn)
		}
	}
	for _, name := range []string{contract.MetricJobsPublished, contract.MetricPublishFailures, contract.MetricUnreadableObjects,
		contract.MetricCursorLag, contract.MetricOldestJobAge, contract.MetricStuckJobs, contract.MetricSemaphoreDrift} {
		if !metrics[name] {
			t.Errorf("no alarm reads %s", name)
		}
	}
	dlq := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", prefix+pipeline.AlarmDLQDepth).inputs
	if q := queriesOf(dlq)[0]; q.stat != "Maximum" || q.dims["QueueName"] != names.DeadLetterQueue {
		t.Errorf("DLQ depth reads %s of %v, want Maximum of the DLQ", q.stat, q.dims)
	}
	// L9: nothing retries a dead letter, so the first one pages, whatever the stack.
	if th, op := dlq["threshold"].(float64), dlq["comparisonOperator"]; !(op == "GreaterThanOrEqualToThreshold" && th <= 1) && !(op == "GreaterThanThreshold" && th < 1) {
		t.Errorf("DLQ depth alarm %v %v: one dead letter does not page", op, th)
	}
	// One run of the schedule per period: a missing run must not look like a late one.
	for suffix, interval := range map[string]time.Duration{pipeline.AlarmDiscoverNotRunning: s.DiscoverInterval(),
		pipeline.AlarmCleanupNotRunning: s.CleanupInterval()} {
		a := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", prefix+suffix).inputs
		q := queriesOf(a)[0]
		if window := time.Duration(q.period*a["evaluationPeriods"].(float64)) * time.Second; q.name != "Invocations" || window < 2*interval {
			t.Errorf("%s: %s over %s, want Invocations over at least two intervals (%s)", suffix, q.name, window, 2*interval)
		}
	}
}

// checkAlarmWindow applies PutMetricAlarm's limits: every query of an alarm uses one
// period, period × evaluation periods is at most a day (7 days for periods of an hour
// or more), and a Metrics Insights alarm evaluates only the last 3 hours.
func checkAlarmWindow(t *testing.T, suffix string, a map[string]any) {
	t.Helper()
	var period float64
	for _, q := range queriesOf(a) {
		if q.period == 0 {
			continue
		}
		if period != 0 && q.period != period {
			t.Errorf("%s: periods %v and %v in one alarm", suffix, period, q.period)
		}
		period = q.period
		if strings.HasPrefix(q.expression, "SELECT") && q.period*a["evaluationPeriods"].(float64) > 3*3600 {
			t.Errorf("%s: Metrics Insights alarm looks back more than 3 hours", suffix)
		}
	}
	limit := 86400.0
	if period >= 3600 {
		limit = 7 * 86400
	}
	if int(period)%60 != 0 || period*a["evaluationPeriods"].(float64) > limit {
		t.Errorf("%s: period %v × %v evaluation periods breaks the alarm limits", suffix, period, a["evaluationPeriods"])
	}
}

var (
	quoted         = regexp.MustCompile(`'[^']*'`)
	searchedMetric = regexp.MustCompile(`MetricName="([A-Za-z]+)"`)
)

// checkDashboard renders nothing CloudWatch would refuse (one Metrics Insights query
// per widget, expressions over ids the widget defines) and shows the lifecycle,
// discovery and concurrency signals the alarms watch.
func checkDashboard(t *testing.T, m *mocks, s stacks.Settings) {
	var body struct {
		Widgets []struct {
			Properties struct {
				Title       string
				Metrics     [][]any
				Annotations struct{ Horizontal []struct{ Value float64 } }
			}
		}
	}
	if err := json.Unmarshal([]byte(m.of("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardBody"].(string)), &body); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, w := range body.Widgets {
		ids, queries := map[string]bool{}, 0
		var exprs []string
		for _, row := range w.Properties.Metrics {
			opts, _ := row[len(row)-1].(map[string]any)
			if id, ok := opts["id"].(string); ok {
				ids[id] = true
			}
			if e, ok := opts["expression"].(string); ok {
				if strings.HasPrefix(e, "SELECT") {
					queries++
					for _, name := range []string{contract.MetricModelThrottles, contract.MetricSlotsInUse} {
						if strings.Contains(e, "("+name+")") {
							shown[name] = true
						}
					}
				} else {
					exprs = append(exprs, e)
					for _, m := range searchedMetric.FindAllStringSubmatch(e, -1) {
						shown[m[1]] = true
					}
				}
				continue
			}
			if row[0] == contract.MetricsNamespace {
				shown[row[1].(string)] = true
				if row[2] != "Stack" || row[3] != s.Stack {
					t.Errorf("%s: %v is not this stack's", w.Properties.Title, row)
				}
			}
		}
		if queries > 1 {
			t.Errorf("%s: %d Metrics Insights queries, CloudWatch runs one per widget", w.Properties.Title, queries)
		}
		for _, e := range exprs {
			for _, tok := range strings.FieldsFunc(quoted.ReplaceAllString(e, ""), func(r rune) bool { return !('a' <= r && r <= 'z') }) {
				if !ids[tok] {
					t.Errorf("%s: expression %q uses %s, which the widget does not define", w.Properties.Title, e, tok)
				}
			}
		}
	}
	for _, name := range []string{contract.MetricEffectiveLimit, contract.MetricModelCalls, contract.MetricModelThrottles,
		contract.MetricStuckJobs, contract.MetricOldestJobAge, contract.MetricJobsRequeued, contract.MetricAttemptsDeferred,
		contract.MetricJobsPublished, contract.MetricPublishFailures, contract.MetricUnreadableObjects, contract.MetricCursorLag} {
		if !shown[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// TestRunbookCoversEveryAlarm keeps docs/operations.md answering every alarm the
// program creates: each description links a section that must exist.
func TestRunbookCoversEveryAlarm(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := stacks.Defaults("prod")
	if err != nil {
		t.Fatal(err)
	}
	for suffix := range wantAlarms(s) {
		if !strings.Contains(string(doc), "\n### "+suffix+"\n") {
			t.Errorf("docs/operations.md has no runbook section ### %s", suffix)
		}
	}
}

func checkTriggers(t *testing.T, m *mocks, s stacks.Settings, names contract.Names) {
	esm := m.of("aws:lambda/eventSourceMapping:EventSourceMapping")[0].inputs
	if esm["batchSize"] != float64(s.SQSBatchSize) ||
		!slices.Equal(esm["functionResponseTypes"].([]any), []any{"ReportBatchItemFailures"}) ||
		esm["scalingConfig"].(map[string]any)["maximumConcurrency"] != float64(s.InvokeMaxConcurrency) {
		t.Errorf("event source mapping %v", esm)
	}
	prefix := contract.Project + "-" + s.Stack + "-"
	if r := m.named(t, "aws:cloudwatch/eventRule:EventRule", prefix+"discover").inputs; r["scheduleExpression"] != s.DiscoverSchedule {
		t.Errorf("discover schedule %v", r["scheduleExpression"])
	}
	if r := m.named(t, "aws:cloudwatch/eventRule:EventRule", prefix+"cleanup").inputs; r["scheduleExpression"] != s.CleanupSchedule {
		t.Errorf("cleanup schedule %v", r["scheduleExpression"])
	}
	pattern := m.named(t, "aws:cloudwatch/eventRule:EventRule", prefix+"execution-ended").inputs["eventPattern"].(string)
	for _, want := range []string{"FAILED", "TIMED_OUT", "ABORTED", testAcct.StateMachineARN(names.StateMachine)} {
		if !strings.Contains(pattern, want) {
			t.Errorf("status-change pattern lacks %s: %s", want, pattern)
		}
	}
}

func TestConfigFlowsToResources(t *testing.T) {
	cfg := stackConfig(t, "dev", map[string]string{"alarmDlqMessages": "3", "alarmEmail": "oncall@example.com",
		"logExecutionData": "true", "sqsBatchSize": "4",
		"alarmDlqMessageAge": "24h", "alarmCursorLag": "8h", "alarmOldestJobAge": "12h", "alarmStuckJobs": "2",
		"alarmFunctionErrors": "4", "alarmPublishFailures": "5", "alarmUnreadableObjects": "6",
		"discoverSchedule": "rate(2 hours)", "cleanupSchedule": "rate(30 minutes)"})
	m, err := deploy("dev", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for suffix, want := range map[string]float64{
		pipeline.AlarmDLQAge: 24 * 3600, pipeline.AlarmCursorLag: 8 * 3600, pipeline.AlarmOldestJobAge: 12 * 3600,
		pipeline.AlarmStuckJobs: 2, pipeline.AlarmDiscoverErrors: 4, pipeline.AlarmInvokeErrors: 4, pipeline.AlarmCleanupErrors: 4,
		pipeline.AlarmPublishFailures: 5, pipeline.AlarmUnreadableObjects: 6,
	} {
		if got := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "ai-enrichment-dev-"+suffix).inputs["threshold"]; got != want {
			t.Errorf("%s: threshold %v, want %v from the config", suffix, got, want)
		}
	}
	// The schedules size the periods of the alarms on their functions' runs.
	for suffix, period := range map[string]float64{pipeline.AlarmDiscoverNotRunning: 7200, pipeline.AlarmDiscoveryStalled: 7200,
		pipeline.AlarmCleanupNotRunning: 1800, pipeline.AlarmStuckJobs: 1800} {
		a := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "ai-enrichment-dev-"+suffix).inputs
		if got := queriesOf(a)[0].period; got != period {
			t.Errorf("%s: period %v, want %v from the schedule", suffix, got, period)
		}
	}
	if a := m.named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "ai-enrichment-dev-"+pipeline.AlarmDLQDepth).inputs; a["threshold"] != 3.0 || len(a["alarmActions"].([]any)) != 1 {
		t.Errorf("DLQ alarm threshold %v actions %v", a["threshold"], a["alarmActions"])
	}
	if sub := m.of("aws:sns/topicSubscription:TopicSubscription"); len(sub) != 1 || sub[0].inputs["endpoint"] != "oncall@example.com" {
		t.Errorf("subscription %v", sub)
	}
	if sm := m.of("aws:sfn/stateMachine:StateMachine")[0].inputs; sm["loggingConfiguration"].(map[string]any)["includeExecutionData"] != true {
		t.Error("logExecutionData not applied")
	}
	if esm := m.of("aws:lambda/eventSourceMapping:EventSourceMapping")[0].inputs; esm["batchSize"] != 4.0 {
		t.Errorf("batch size %v", esm["batchSize"])
	}
}

func TestBadConfigFails(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		// A typo set with `pulumi config set`: only reading the whole namespace sees it.
		{"maxConcurentExecutions", "40", "unknown config key ai-enrichment:maxConcurentExecutions"},
		{"sqsBatchSize", "11", "ai-enrichment:sqsBatchSize: is 11; a FIFO queue's event source batch size must be 1 to 10"},
		{"maxConcurrentExecutions", "500", "over the Bedrock quota of 100"},
		{"queueVisibility", "30s", "queueVisibility: is 30s; it must cover 6 × invokeTimeout"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			m, err := deploy("staging", stackConfig(t, "staging", map[string]string{tc.key: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if len(m.resources) != 0 {
				t.Errorf("%d resources registered before validation failed", len(m.resources))
			}
		})
	}
}

// TestConfigComesFromTheEngine: without the engine's whole config the program
// refuses to guess, and a PULUMI_CONFIG that disagrees with it is refused.
func TestConfigComesFromTheEngine(t *testing.T) {
	cfg := stackConfig(t, "dev", nil)
	run := func(env string, set bool) error {
		t.Setenv(pulumi.EnvConfig, env) // restored after the test
		if !set {
			os.Unsetenv(pulumi.EnvConfig)
		}
		return pulumi.RunErr(func(ctx *pulumi.Context) error { return program(ctx, fakeCode()) },
			pulumi.WithMocks(contract.Project, "dev", &mocks{}), func(info *pulumi.RunInfo) { info.Config = cfg })
	}
	if err := run("", false); err == nil || !strings.Contains(err.Error(), pulumi.EnvConfig+" is not set") {
		t.Errorf("without %s: %v", pulumi.EnvConfig, err)
	}
	if err := run(`{"ai-enrichment:sqsBatchSize":"3"}`, true); err == nil || !strings.Contains(err.Error(), "disagrees") {
		t.Errorf("with a stale %s: %v", pulumi.EnvConfig, err)
	}
}
