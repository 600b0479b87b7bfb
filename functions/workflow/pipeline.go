package workflow

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/status"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// State names of the pipeline (the execution history and the diagram use them).
const (
	StateClaimJob        = "ClaimJob"
	StateSkipped         = "Skipped"
	StateClaimFailed     = "ClaimFailed"
	StateAcquireSlot     = "AcquireSlot"
	StateConfirmSlot     = "ConfirmOwnSlot"
	StateCountSlotWait   = "CountSlotWait"
	StateSlotWaitLeft    = "SlotWaitLeft"
	StateWaitForSlot     = "WaitForSlot"
	StateHandOver        = "HandOverSlot"
	StateWakeWaiter      = "WakeSlotWaiter"
	StateNoSlot          = "NoSlot"
	StateStartAttempt    = "StartAttempt"
	StateStartFailed     = "StartFailed"
	StateRoute           = "ResumeAtFirstIncompletePass"
	StateForget          = "ForgetPassesForForce"
	StateResumeAtPass2   = "ResumeAtPass2"
	StateResumeAtPass3   = "ResumeAtPass3"
	StateCheckAttempts   = "CheckAttempts"
	StateMarkFailed      = "MarkFailed"
	StateMarkPermFailed  = "MarkPermanentlyFailed"
	StateReleaseSlot     = "ReleaseSlot"
	StateReleaseOnFail   = "ReleaseSlotAfterFailure"
	StateCapacity        = "CapacityTrouble"
	StateReleaseToDefer  = "ReleaseSlotToDefer"
	StateDeferWhich      = "AttemptCounted"
	StateDeferJob        = "DeferJob"
	StateDeferAttempt    = "DeferAttempt"
	StateDeferMessage    = "DeferMessage"
	StateSendDeferred    = "SendDeferredMessage"
	StateDeferred        = "Deferred"
	StateDeferFailed     = "DeferFailed"
	StateEnriched        = "Enriched"
	StateFailed          = "Failed"
	ErrorEnrichment      = "EnrichmentFailed"
	ErrorClaim           = "ClaimFailed"
	ErrorSlotUnavailable = "SlotUnavailable"
	ErrorDefer           = "DeferFailed"
)

// RunPass, RecordPass and PassFailed name the three states of each pass.
func RunPass(p contract.Pass) string    { return "Run" + title(p) }
func RecordPass(p contract.Pass) string { return "Record" + title(p) }
func PassFailed(p contract.Pass) string { return title(p) + "Failed" }

func title(p contract.Pass) string { return "P" + string(p)[1:] }

// Error names of the integrations the retry policies match. Lambda's are the set
// of "Handle Lambda service exceptions" (Step Functions Developer Guide) plus
// throttling. Step Functions names a service error "<Service>.<Code>" and, for AWS
// SDK integrations, appends "Exception" to codes that lack it ("Learning to use AWS
// service SDK integrations"); DynamoDB's own codes InternalServerError and
// RequestLimitExceeded lack it, and what the optimized dynamodb:updateItem
// integration reports is not documented, so both spellings are listed.
var (
	lambdaServiceErrors = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException"}
	dynamoTransient = []string{"DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException",
		"DynamoDB.RequestLimitExceeded", "DynamoDB.RequestLimitExceededException",
		"DynamoDB.InternalServerError", "DynamoDB.InternalServerErrorException"}
	conditionFailed = "DynamoDB.ConditionalCheckFailedException"
	// capacityErrors end an attempt without counting it, once the retries are spent.
	capacityErrors = []string{contract.ErrNameThrottled, contract.ErrNameCircuitOpen, "Lambda.TooManyRequestsException"}
)

// pipeline holds what every state builder needs.
type pipeline struct {
	names     contract.Names
	s         stacks.Settings
	acct      contract.Account
	enrichARN string
	statusARN string
	semARN    string
	err       error // the first bad transition argument list
}

// Pipeline builds the enrichment state machine of one stack (see docs/state-machine.md):
// claim the job (a done job, or one another execution holds, ends here without a
// slot), take a semaphore slot with a bounded, jittered wait, count the attempt,
// resume at the first incomplete pass, run and record the passes, and release the
// slot on every path. Only references and small numbers travel in the state.
func Pipeline(names contract.Names, s stacks.Settings, acct contract.Account) (*StateMachine, error) {
	if acct.Partition == "" || acct.Region == "" || acct.ID == "" {
		return nil, fmt.Errorf("workflow needs the partition, Region and account id of the stack: %+v", acct)
	}
	if s.MaxConcurrentExecutions < 1 || s.MaxAttempts < 1 || s.SlotWaitAttempts < 1 || s.SlotWait < time.Second {
		return nil, fmt.Errorf("settings of stack %q: concurrency, attempts, slot wait and slot wait attempts must be positive", s.Stack)
	}
	p := &pipeline{names: names, s: s, acct: acct, enrichARN: acct.FunctionARN(names.EnrichFunction),
		statusARN: acct.TableARN(names.StatusTable), semARN: acct.TableARN(names.SemaphoreTable)}
	m := &StateMachine{
		Comment:        "ai-enrichment " + s.Stack + ": three enrichment passes of one job under a DynamoDB semaphore",
		StartAt:        StateClaimJob,
		TimeoutSeconds: p.timeoutSeconds(),
	}
	m.Add(StateClaimJob, p.claimJob())
	m.Add(StateSkipped, &Succeed{Comment: "done, permanently failed, out of attempts, or held by another execution: no slot, no model call"})
	m.Add(StateClaimFailed, &Fail{Error: ErrorClaim, Cause: "the status table could not be written; nothing is held"})
	m.Add(StateAcquireSlot, p.acquireSlot())
	m.Add(StateConfirmSlot, p.confirmSlot())
	m.Add(StateCountSlotWait, p.countSlotWait())
	m.Add(StateSlotWaitLeft, &Choice{
		Choices: []Rule{{
			Comment: fmt.Sprintf("waited %d times", s.SlotWaitAttempts),
			When:    Compare("$.claim.slotWaits", NumericGreaterThan, s.SlotWaitAttempts),
			Next:    StateNoSlot,
		}},
		Default: StateWaitForSlot,
	})
	m.Add(StateWaitForSlot, p.waitForSlot())
	m.Add(StateNoSlot, &Pass{
		Comment:    "capacity trouble, not the job's: deferred, not counted",
		Result:     map[string]any{"reason": ErrorSlotUnavailable},
		ResultPath: At("$.deferral"),
		Next:       StateReleaseToDefer,
	})
	m.Add(StateStartAttempt, p.startAttempt())
	m.Add(StateStartFailed, failure("start"))
	m.Add(StateRoute, p.route())
	forget := p.transition(status.Forget, Params{":now": nowValue, ":exec": execValue})
	forget.ResultPath = nil
	forget.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateStartFailed}}
	forget.Next = RunPass(contract.Pass1)
	m.Add(StateForget, forget)
	m.Add(StateResumeAtPass2, &Pass{
		Comment:    "pass1 is COMPLETED in Bronze: reuse its result",
		Parameters: Params{"pass1": Params{"bronze_key.$": storedKey(contract.Pass1)}},
		ResultPath: At("$.passes"),
		Next:       RunPass(contract.Pass2),
	})
	m.Add(StateResumeAtPass3, &Pass{
		Comment: "pass1 and pass2 are COMPLETED in Bronze: reuse their results",
		Parameters: Params{
			"pass1": Params{"bronze_key.$": storedKey(contract.Pass1)},
			"pass2": Params{"bronze_key.$": storedKey(contract.Pass2)},
		},
		ResultPath: At("$.passes"),
		Next:       RunPass(contract.Pass3),
	})
	for i, pass := range contract.Passes {
		next := StateReleaseSlot
		if i+1 < len(contract.Passes) {
			next = RunPass(contract.Passes[i+1])
		}
		m.Add(RunPass(pass), p.runPass(pass, contract.Passes[:i]))
		m.Add(RecordPass(pass), p.recordPass(pass, i == len(contract.Passes)-1, next))
		m.Add(PassFailed(pass), failure(string(pass)))
	}
	m.Add(StateCheckAttempts, &Choice{
		Comment: "the attempt that just failed was the last one allowed",
		Choices: []Rule{{
			Comment: fmt.Sprintf("attempt %d or later", s.MaxAttempts),
			When:    And(Present("$.attempt.count"), Compare("$.attempt.count", NumericGreaterThanEquals, s.MaxAttempts)),
			Next:    StateMarkPermFailed,
		}},
		Default: StateMarkFailed,
	})
	m.Add(StateMarkFailed, p.markFailed(status.Fail))
	m.Add(StateMarkPermFailed, p.markFailed(status.GiveUp))
	p.addRelease(m, StateReleaseSlot, StateEnriched)
	p.addRelease(m, StateReleaseOnFail, StateFailed)
	p.addDeferral(m)
	m.Add(StateEnriched, &Succeed{})
	m.Add(StateFailed, &Fail{Error: ErrorEnrichment, Cause: "an enrichment attempt failed; the job's lastError in the status table says where and why"})
	if p.err != nil {
		return nil, fmt.Errorf("pipeline definition of stack %q: %w", s.Stack, p.err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline definition of stack %q: %w", s.Stack, err)
	}
	return m, nil
}

// addDeferral adds the path of capacity trouble (no slot after the bounded wait,
// throttling or an open breaker after the pass's own retries, Lambda throttling): the
// slot is released, the attempt is not counted (taken back if it was), the job goes
// back to QUEUED under a new publication and this execution sends its message
// itself. Only a real failure of the job spends an attempt (DESIGN.md §4.11).
func (p *pipeline) addDeferral(m *StateMachine) {
	m.Add(StateCapacity, &Pass{
		Parameters: Params{"reason.$": "$.error.Error"},
		ResultPath: At("$.deferral"),
		Next:       StateReleaseToDefer,
	})
	p.addRelease(m, StateReleaseToDefer, StateDeferWhich)
	m.Add(StateDeferWhich, &Choice{
		Choices: []Rule{{Comment: "the attempt was counted", When: Present("$.attempt.count"), Next: StateDeferAttempt}},
		Default: StateDeferJob,
	})
	for _, d := range []struct {
		name string
		tr   status.Transition
	}{{StateDeferJob, status.Defer}, {StateDeferAttempt, status.DeferAttempt}} {
		t := p.transition(d.tr, Params{":now": nowValue, ":exec": execValue})
		t.Parameters["ReturnValues"] = "ALL_NEW"
		t.ResultSelector = Params{"publication.$": "States.StringToJson($.Attributes." + contract.AttrPublication + ".N)"}
		t.ResultPath = At("$.deferred")
		t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateDeferFailed}}
		t.Next = StateDeferMessage
		m.Add(d.name, t)
	}
	m.Add(StateDeferMessage, &Pass{
		Comment: "the queue message of the new publication (contract.QueueMessage)",
		Parameters: Params{
			"job.$": "$.job_data", "force.$": "$.force",
			"publication.$": "$.deferred.publication", "deferred.$": "$.deferral.reason",
		},
		ResultPath: At("$.message"),
		Next:       StateSendDeferred,
	})
	queueARN := p.acct.QueueARN(p.names.Queue)
	m.Add(StateSendDeferred, &Task{
		Comment:  "FIFO queues take no per-message delay: admission control paces the new message",
		Resource: p.acct.IntegrationARN("sqs", "sendMessage"),
		Parameters: Params{
			"QueueUrl":      fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", p.acct.Region, p.acct.ID, p.names.Queue),
			"MessageBody.$": "States.JsonToString($.message)",
			// A group of its own: the job does not wait behind its old group.
			"MessageGroupId.$": "States.Format('job-{}', $.job_data.job_posting_id)",
			// Deterministic: a retried send within the dedup window is dropped.
			"MessageDeduplicationId.$": "States.Format('job-{}-p{}-deferred', $.job_data.job_posting_id, $.deferred.publication)",
		},
		ResultPath:     nil,
		TimeoutSeconds: 30,
		Retry:          []Retry{{ErrorEquals: []string{statesAll}, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL"}},
		Catch:          []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateDeferFailed}},
		Next:           StateDeferred,
		Permissions:    []Permission{{Actions: []string{"sqs:SendMessage"}, Resources: []string{queueARN}}},
	})
	m.Add(StateDeferred, &Succeed{Comment: "the job is QUEUED again under a new publication, its attempt not counted"})
	m.Add(StateDeferFailed, &Fail{Error: ErrorDefer, Cause: "the deferral could not be written or sent; the cleanup reaper requeues the job"})
}

// timeoutSeconds bounds an execution so a stuck one cannot hold a slot forever: the
// longest slot wait plus three passes with every retry at its maximum delay.
func (p *pipeline) timeoutSeconds() int {
	s := p.s
	slot := time.Duration(s.SlotWaitAttempts) * (s.SlotWait*3/2 + 2*time.Second)
	invokes := time.Duration(1 + s.ThrottleRetryAttempts + 2)
	pass := invokes*(s.PassTimeout+time.Minute) + time.Duration(s.ThrottleRetryAttempts)*s.ThrottleRetryMaxDelay
	return int((slot + 3*pass + 5*time.Minute).Seconds())
}

// dynamoTask is an UpdateItem with the standard transient retry.
func (p *pipeline) dynamoTask(tableARN, table string, params Params) *Task {
	params["TableName"] = table
	return &Task{
		Resource:       p.acct.IntegrationARN("dynamodb", "updateItem"),
		Parameters:     params,
		TimeoutSeconds: 30,
		Retry:          []Retry{{ErrorEquals: dynamoTransient, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, MaxDelaySeconds: 10, JitterStrategy: "FULL"}},
		Permissions:    []Permission{{Actions: []string{"dynamodb:UpdateItem"}, Resources: []string{tableARN}}},
	}
}

func (p *pipeline) statusTask(params Params) *Task {
	params["Key"] = Params{contract.StatusKey: Params{"S.$": "$.job_data.job_posting_id"}}
	return p.dynamoTask(p.statusARN, p.names.StatusTable, params)
}

func (p *pipeline) semaphoreTask(params Params) *Task {
	params["Key"] = Params{contract.SemaphoreKey: Params{"S": contract.SemaphoreLockName}}
	return p.dynamoTask(p.semARN, p.names.SemaphoreTable, params)
}

var (
	nowValue  = Params{"S.$": "$$.State.EnteredTime"}
	execValue = Params{"S.$": "$$.Execution.Name"}
)

// transition is the status task of a lifecycle transition with the arguments this
// execution supplies; a mismatch is a bug of the definition, reported by Pipeline.
func (p *pipeline) transition(t status.Transition, args Params) *Task {
	if err := t.CheckArgs(slices.Collect(maps.Keys(args))); err != nil && p.err == nil {
		p.err = err
	}
	values := Params{}
	for k, v := range t.Constants() {
		values[k] = attributeParam(v)
	}
	maps.Copy(values, args)
	names := Params{}
	for k, v := range t.Names() {
		names[k] = v
	}
	return p.statusTask(Params{
		"UpdateExpression":          t.Update,
		"ConditionExpression":       t.Condition,
		"ExpressionAttributeNames":  names,
		"ExpressionAttributeValues": values,
	})
}

// attributeParam renders a constant attribute value of the lifecycle in ASL.
func attributeParam(v ddbtypes.AttributeValue) Params {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return Params{"S": v.Value}
	case *ddbtypes.AttributeValueMemberN:
		return Params{"N": v.Value}
	case *ddbtypes.AttributeValueMemberBOOL:
		return Params{"BOOL": v.Value}
	}
	panic(fmt.Sprintf("lifecycle constant of type %T", v))
}

// claimJob writes this execution into the job's status item (status.Claim) unless
// another execution holds it, a newer publication replaced this one, the job is done
// or out of attempts (force overrides the last two). The returned item tells which
// passes are already complete and how many attempts were counted.
func (p *pipeline) claimJob() *Task {
	t := p.transition(status.Claim, Params{
		":exec":  execValue,
		":now":   nowValue,
		":pub":   Params{"N.$": "States.Format('{}', $.publication)"},
		":force": Params{"BOOL.$": "$.force"},
		":max":   Params{"N": strconv.Itoa(p.s.MaxAttempts)},
	})
	t.Parameters["ReturnValues"] = "ALL_NEW"
	t.Comment = "per-job claim: one execution of a job at a time"
	t.ResultSelector = Params{"item.$": "$.Attributes", "slotWaits": 0}
	t.ResultPath = At("$.claim")
	t.Catch = []Catch{
		{ErrorEquals: []string{conditionFailed}, Next: StateSkipped},
		{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateClaimFailed},
	}
	t.Next = StateAcquireSlot
	return t
}

// holderName is the semaphore attribute of this execution's slot (prefixed, so no
// other attribute of the item can be taken for a holder).
var holderName = "States.Format('" + contract.SemaphoreHolderPrefix + "{}', $$.Execution.Name)"

// AcquireUpdate is AcquireSlot's update expression (the chaos test loses its answers).
const AcquireUpdate = "SET #count = #count + :one, #holder = :now"

// acquireSlot takes a semaphore slot. The limits live in the item, not in this
// definition: the configured maximum (a deploy writes it) and the controller's
// effective limit, so a change reaches running executions at their next try. The
// holder attribute holds the acquisition time; re-entering refreshes it.
func (p *pipeline) acquireSlot() *Task {
	t := p.semaphoreTask(Params{
		"UpdateExpression":    AcquireUpdate,
		"ConditionExpression": "attribute_not_exists(#holder) AND #count < #max AND (attribute_not_exists(#limit) OR #count < #limit)",
		"ExpressionAttributeNames": Params{
			"#count": contract.SemaphoreCount, "#max": contract.SemaphoreMax, "#limit": contract.SemaphoreLimit, "#holder.$": holderName,
		},
		"ExpressionAttributeValues": Params{":one": Params{"N": "1"}, ":now": nowValue},
	})
	t.ResultPath = nil
	t.Catch = []Catch{
		{ErrorEquals: []string{conditionFailed}, Next: StateConfirmSlot},
		{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateStartFailed},
	}
	t.Next = StateStartAttempt
	return t
}

// confirmSlot tells a full semaphore from a slot this execution already holds: a
// retry of AcquireSlot whose first try committed (its answer lost) fails on its own
// holder, and must go on with that slot instead of waiting for another (issue 11, L6).
func (p *pipeline) confirmSlot() *Task {
	t := p.semaphoreTask(Params{
		"UpdateExpression":          "SET #holder = :now",
		"ConditionExpression":       "attribute_exists(#holder)",
		"ExpressionAttributeNames":  Params{"#holder.$": holderName},
		"ExpressionAttributeValues": Params{":now": nowValue},
	})
	t.Comment = "the acquire failed: is the slot already ours?"
	t.ResultPath = nil
	t.Catch = []Catch{
		{ErrorEquals: []string{conditionFailed}, Next: StateCountSlotWait},
		{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateStartFailed},
	}
	t.Next = StateStartAttempt
	return t
}

// countSlotWait counts one wait and draws its jittered length, so waiting executions
// whose slot is not handed over (see waitForSlot) do not wake up together.
func (p *pipeline) countSlotWait() *Pass {
	wait := int(p.s.SlotWait.Seconds())
	lo := max(1, wait/2)
	return &Pass{
		Parameters: Params{
			"item.$":        "$.claim.item",
			"slotWaits.$":   "States.MathAdd($.claim.slotWaits, 1)",
			"waitSeconds.$": fmt.Sprintf("States.MathRandom(%d, %d)", lo, wait+wait/2+1),
		},
		ResultPath: At("$.claim"),
		Next:       StateSlotWaitLeft,
	}
}

// startAttempt counts the attempt (status.Count): attempts becomes the claimed value
// plus one, so a Step Functions retry of a committed write counts it once.
func (p *pipeline) startAttempt() *Task {
	t := p.transition(status.Count, Params{
		":now":     nowValue,
		":exec":    execValue,
		":attempt": Params{"N.$": "States.Format('{}', States.MathAdd(States.StringToJson($.claim.item." + contract.AttrAttempts + ".N), 1))"},
	})
	t.Parameters["ReturnValues"] = "UPDATED_NEW"
	t.ResultSelector = Params{"count.$": "States.StringToJson($.Attributes." + contract.AttrAttempts + ".N)"}
	t.ResultPath = At("$.attempt")
	t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: StateStartFailed}}
	t.Next = StateRoute
	return t
}

func storedPass(pass contract.Pass) string { return "$.claim.item." + string(pass) + ".M." }

func storedKey(pass contract.Pass) string {
	return storedPass(pass) + contract.AttrPassBronzeKey + ".S"
}

// completed is true when the claimed item records pass as COMPLETED with a Bronze key.
func completed(pass contract.Pass) Condition {
	status := storedPass(pass) + contract.AttrPassStatus + ".S"
	return And(Present(status), Compare(status, StringEquals, contract.StatusCompleted), Present(storedKey(pass)))
}

func (p *pipeline) route() *Choice {
	return &Choice{
		Comment: "force re-runs every pass; otherwise skip passes already COMPLETED",
		Choices: []Rule{
			{Comment: "force", When: Compare("$.force", BooleanEquals, true), Next: StateForget},
			{Comment: "pass1 and pass2 completed", When: And(completed(contract.Pass1), completed(contract.Pass2)), Next: StateResumeAtPass3},
			{Comment: "pass1 completed", When: completed(contract.Pass1), Next: StateResumeAtPass2},
		},
		Default: RunPass(contract.Pass1),
	}
}

// runPass invokes EnrichPartition for one pass with the Bronze keys of the earlier
// passes, keeping only references and small numbers of its answer.
func (p *pipeline) runPass(pass contract.Pass, earlier []contract.Pass) *Task {
	payload := Params{
		"pass_name":      string(pass),
		"job_data.$":     "$.job_data",
		"execution_id.$": "$$.Execution.Name",
		"force.$":        "$.force",
	}
	if len(earlier) > 0 {
		prev := Params{}
		for _, e := range earlier {
			prev[string(e)+".$"] = "$.passes." + string(e) + ".bronze_key"
		}
		payload["previous"] = prev
	}
	catch := []Catch{{ErrorEquals: capacityErrors, ResultPath: At("$.error"), Next: StateCapacity}}
	if len(earlier) > 0 {
		// Earlier results recorded COMPLETED but gone from Bronze (a lifecycle rule
		// expired them): run the passes again from the first, served from Bronze where it
		// still holds them, instead of failing every attempt.
		catch = append(catch, Catch{ErrorEquals: []string{contract.ErrNamePreviousMissing}, ResultPath: At("$.stale"), Next: StateForget})
	}
	catch = append(catch, Catch{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: PassFailed(pass)})
	s := p.s
	return &Task{
		Comment:    fmt.Sprintf("%s (%s) through EnrichPartition", pass, pass.Section()),
		Resource:   p.acct.IntegrationARN("lambda", "invoke"),
		Parameters: Params{"FunctionName": p.enrichARN, "Payload": payload},
		ResultSelector: Params{
			"bronze_key.$": "$.Payload.bronze_key",
			"model.$":      "$.Payload.model_id",
			"tokens.$":     "$.Payload.tokens",
			"cost.$":       "$.Payload.cost_usd",
			"cost_known.$": "$.Payload.cost_known",
			"cached.$":     "$.Payload.cached",
		},
		ResultPath:     At("$.passes." + string(pass)),
		TimeoutSeconds: int((s.PassTimeout + time.Minute).Seconds()),
		// Lambda.Unknown (timeouts, crashes) is not retried: a long model call must not be
		// paid for twice blindly. Invalid requests and answers are not retried either.
		Retry: []Retry{
			{ErrorEquals: lambdaServiceErrors, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: "FULL"},
			{
				ErrorEquals:     []string{contract.ErrNameThrottled, contract.ErrNameCircuitOpen},
				IntervalSeconds: int(s.ThrottleRetryInterval.Seconds()), MaxAttempts: s.ThrottleRetryAttempts, BackoffRate: 2,
				MaxDelaySeconds: int(s.ThrottleRetryMaxDelay.Seconds()), JitterStrategy: "FULL",
			},
			{ErrorEquals: []string{contract.ErrNameTransient, contract.ErrNameStorage}, IntervalSeconds: 5, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: "FULL"},
		},
		Catch:       catch,
		Next:        RecordPass(pass),
		Permissions: []Permission{{Actions: []string{"lambda:InvokeFunction"}, Resources: []string{p.enrichARN, p.enrichARN + ":*"}}},
	}
}

// recordPass stores the pass's Bronze key, model, tokens and cost (status.Record); the
// last pass also completes the job and gives up the claim (status.Complete).
func (p *pipeline) recordPass(pass contract.Pass, last bool, next string) *Task {
	res := "$.passes." + string(pass) + "."
	tr := status.Record
	if last {
		tr = status.Complete
	}
	t := p.transition(tr.ForPass(pass), Params{
		":pass": Params{"M": Params{
			contract.AttrPassStatus:     Params{"S": contract.StatusCompleted},
			contract.AttrPassBronzeKey:  Params{"S.$": res + "bronze_key"},
			contract.AttrPassModel:      Params{"S.$": res + "model"},
			contract.AttrPassInTokens:   Params{"N.$": "States.Format('{}', " + res + "tokens.input)"},
			contract.AttrPassOutTokens:  Params{"N.$": "States.Format('{}', " + res + "tokens.output)"},
			contract.AttrPassCost:       Params{"N.$": "States.Format('{}', " + res + "cost)"},
			contract.AttrPassCostKnown:  Params{"BOOL.$": res + "cost_known"},
			contract.AttrPassCached:     Params{"BOOL.$": res + "cached"},
			contract.AttrPassFinishedAt: nowValue,
		}},
		":now":  nowValue,
		":exec": execValue,
	})
	t.ResultPath = nil
	t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.error"), Next: PassFailed(pass)}}
	t.Next = next
	return t
}

// failure turns the caught error of a step into the record MarkFailed writes. The
// whole error object is kept as text, so no path can be missing.
func failure(step string) *Pass {
	return &Pass{
		Parameters: Params{
			contract.AttrErrorStep:          step,
			contract.AttrErrorDetail + ".$": "States.JsonToString($.error)",
		},
		ResultPath: At("$.failure"),
		Next:       StateCheckAttempts,
	}
}

// markFailed records the failure and gives up the claim (status.Fail, or status.GiveUp
// after the last attempt). If the write fails, the slot is still released (the Catch)
// and the reaper settles the row.
func (p *pipeline) markFailed(tr status.Transition) *Task {
	t := p.transition(tr, Params{
		":err": Params{"M": Params{
			contract.AttrErrorStep:   Params{"S.$": "$.failure." + contract.AttrErrorStep},
			contract.AttrErrorDetail: Params{"S.$": "$.failure." + contract.AttrErrorDetail},
		}},
		":now":  nowValue,
		":exec": execValue,
		":max":  Params{"N": strconv.Itoa(p.s.MaxAttempts)},
	})
	t.ResultPath = nil
	t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.markError"), Next: StateReleaseOnFail}}
	t.Next = StateReleaseOnFail
	return t
}

// addRelease adds the state release, which gives the slot back if this execution
// holds one (on the failure path it may not), and the handover after it: the first
// waiter in the semaphore item is popped and woken, so it takes the freed slot at once
// instead of sleeping out its jittered wait. A token whose wait already ended (timed
// out, its execution gone) fails the wake; the next waiter is tried. A pop retried after
// its answer was lost skips one waiter, who comes back on its own timeout. A failed
// release still ends the execution (cleanup reclaims the slot), without a handover.
func (p *pipeline) addRelease(m *StateMachine, release, next string) {
	handOver, wake := HandOver(release), WakeWaiter(release)
	t := p.semaphoreTask(Params{
		"UpdateExpression":          "SET #count = #count - :one REMOVE #holder",
		"ConditionExpression":       "attribute_exists(#holder) AND #count > :zero",
		"ExpressionAttributeNames":  Params{"#count": contract.SemaphoreCount, "#holder.$": holderName},
		"ExpressionAttributeValues": Params{":one": Params{"N": "1"}, ":zero": Params{"N": "0"}},
	})
	t.ResultPath = nil
	t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.releaseError"), Next: next}}
	t.Next = handOver
	m.Add(release, t)

	pop := p.semaphoreTask(Params{
		"UpdateExpression":         "REMOVE #waiters[0]",
		"ConditionExpression":      "attribute_exists(#waiters[0])",
		"ExpressionAttributeNames": Params{"#waiters": contract.SemaphoreWaiters},
		"ReturnValues":             "UPDATED_OLD", // the popped token (or the list before): never the whole item
	})
	pop.Comment = "the first waiter, if any, gets the freed slot"
	pop.ResultSelector = Params{"first.$": "States.ArrayGetItem($.Attributes." + contract.SemaphoreWaiters + ".L, 0)"}
	pop.ResultPath = At("$.handover")
	// No waiter (the condition), or the item could not be written: the waiters' own
	// timeouts still bring them back.
	pop.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.handoverError"), Next: next}}
	pop.Next = wake
	m.Add(handOver, pop)

	m.Add(wake, &Task{
		Comment:  "ends the waiter's WaitForSlot: it tries AcquireSlot again at once",
		Resource: p.acct.IntegrationARN("aws-sdk:sfn", "sendTaskSuccess"),
		Parameters: Params{
			"TaskToken.$": "$.handover.first.S",
			"Output":      "{}",
		},
		ResultPath:     nil,
		TimeoutSeconds: 30,
		// TaskTimedOut, InvalidToken, TaskDoesNotExist (SendTaskSuccess, Step Functions
		// API Reference): that wait is over; hand the slot to the next waiter.
		Catch: []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.handoverError"), Next: handOver}},
		Next:  next,
		// SendTaskSuccess takes no resource-level permission: the token names the task
		// (Actions, resources, and condition keys for AWS Step Functions).
		Permissions: []Permission{{Actions: []string{"states:SendTaskSuccess"}, Resources: []string{"*"}}},
	})
}

// maxSlotWaiters bounds the waiter list of the semaphore item: stale tokens (waits that
// timed out) stay until a release pops them, and a task token may be 2,048 bytes
// (SendTaskSuccess, API Reference), so 100 keep the item well under DynamoDB's 400 KB
// and the pop's answer under the 256 KiB state payload limit.
const maxSlotWaiters = 100

// HandOver and WakeWaiter name the two handover states after release.
func HandOver(release string) string {
	return StateHandOver + strings.TrimPrefix(release, StateReleaseSlot)
}
func WakeWaiter(release string) string {
	return StateWakeWaiter + strings.TrimPrefix(release, StateReleaseSlot)
}

// waitForSlot parks the execution until a release hands it a slot or its jittered
// wait ends, whichever comes first, then sends it back to AcquireSlot. It leaves its
// task token at the end of the semaphore item's waiter list in a write conditioned on
// the semaphore still being full, so a release between the failed acquire and this
// write is never missed: the condition fails and the execution tries again at once.
// A callback task on the AWS SDK integration (.waitForTaskToken: "Discover service
// integration patterns in Step Functions"); the timeout ends it with States.Timeout.
// A full list (maxSlotWaiters) fails the write too: the execution then spends its
// counted waits without sleeping and is deferred (NoSlot), never blocked.
func (p *pipeline) waitForSlot() *Task {
	t := p.semaphoreTask(Params{
		"UpdateExpression": "SET #waiters = list_append(if_not_exists(#waiters, :none), :me)",
		"ConditionExpression": fmt.Sprintf("(#count >= #max OR (attribute_exists(#limit) AND #count >= #limit)) AND attribute_not_exists(#waiters[%d])",
			maxSlotWaiters-1),
		"ExpressionAttributeNames": Params{
			"#waiters": contract.SemaphoreWaiters, "#count": contract.SemaphoreCount,
			"#max": contract.SemaphoreMax, "#limit": contract.SemaphoreLimit,
		},
		"ExpressionAttributeValues": Params{
			":none": Params{"L": []any{}},
			":me":   Params{"L": []any{Params{"S.$": "$$.Task.Token"}}},
		},
	})
	t.Resource = p.acct.IntegrationARN("aws-sdk:dynamodb", "updateItem"+callbackSuffix)
	t.Comment = "wait for a handover, at most $.claim.waitSeconds"
	t.TimeoutSeconds, t.TimeoutSecondsPath = 0, "$.claim.waitSeconds"
	t.Retry = nil // every way out leads back to AcquireSlot, which counts the waits
	t.ResultPath = nil
	t.Catch = []Catch{{ErrorEquals: []string{statesAll}, ResultPath: At("$.slotWake"), Next: StateAcquireSlot}}
	t.Next = StateAcquireSlot
	return t
}
