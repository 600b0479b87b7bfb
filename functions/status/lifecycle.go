package status

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// The job lifecycle: every write of a status item is one of the transitions below.
// Discovery, cleanup, the CLI and the state machine's DynamoDB tasks take their update
// and condition expressions from here; docs/architecture.md draws the diagram from
// Lifecycle (make diagram).
//
// Three rules keep a job live:
//   - every hand-over to a new message or execution (Queue, QueueForced, Requeue,
//     Retry, Defer, DeferAttempt) adds one to the publication counter, and the execution is named
//     after it (contract.PublicationName): a name is never offered twice;
//   - a writer that may be retried after a lost acknowledgement writes its token, and
//     its condition accepts its own committed write (the mark is idempotent);
//   - the claim refuses a superseded publication, so a message the reaper replaced
//     ends in Skipped instead of running the job a second time.

// NoRow stands for "no status item" in From.
const NoRow = ""

// Writers of the transitions.
const (
	ByDiscovery    = "discovery"
	ByStateMachine = "state machine"
	ByCleanup      = "cleanup"
	ByCLI          = "enrichctl"
	ByInvoke       = "invoke"
)

// Transition is one change of a status item: the statuses it leaves, the one it
// reaches, and its DynamoDB update and condition expressions. Attribute names (#x)
// and constants (:x) come from the tables below; any other :x is an argument the
// writer supplies (Args).
type Transition struct {
	Name      string
	Comment   string
	Writers   []string
	From      []string
	To        string // "" when the transition keeps the status (RecordPass)
	Update    string
	Condition string
}

// attrNames maps every #name the expressions use to its attribute.
var attrNames = func() map[string]string {
	m := map[string]string{
		"#id": contract.StatusKey, "#st": contract.AttrOverallStatus, "#up": contract.AttrUpdatedAt,
		"#cr": contract.AttrCreatedAt, "#at": contract.AttrAttempts, "#ex": contract.AttrExecution,
		"#err": contract.AttrLastError, "#pa": contract.AttrPartition, "#pub": contract.AttrPublication,
		"#tok": contract.AttrMarkToken, "#sent": contract.AttrSent,
	}
	for _, p := range contract.Passes {
		m["#"+string(p)] = string(p)
	}
	return m
}()

// S and N are argument values.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func N(i int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(i)} }

// NewToken is a writer's token for the lost-acknowledgement-safe transitions.
func NewToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func sv(v string) types.AttributeValue { return S(v) }

// constants are the :values every writer shares.
var constants = map[string]types.AttributeValue{
	":queued": sv(contract.StatusQueued), ":pending": sv(contract.StatusPending),
	":inprogress": sv(contract.StatusInProgress), ":completed": sv(contract.StatusCompleted),
	":failed": sv(contract.StatusFailed), ":permfailed": sv(contract.StatusPermanentlyFailed),
	":one": &types.AttributeValueMemberN{Value: "1"}, ":zero": &types.AttributeValueMemberN{Value: "0"},
	":yes": &types.AttributeValueMemberBOOL{Value: true},
}

// The transitions, in lifecycle order.
var (
	Queue = Transition{
		Name: "Queue", Writers: []string{ByDiscovery},
		Comment: "a new job, or a failed one with attempts left, is handed to a new message",
		From:    []string{NoRow, contract.StatusFailed}, To: contract.StatusQueued,
		Update:    "SET #st = :queued, #up = :now, #pa = :partition, #cr = if_not_exists(#cr, :now), #at = if_not_exists(#at, :zero), #tok = :token, #sent = if_not_exists(#sent, :zero) ADD #pub :one",
		Condition: "attribute_not_exists(#id) OR (#st = :failed AND (attribute_not_exists(#at) OR #at < :max)) OR (#st = :queued AND #tok = :token)",
	}
	QueueForced = Transition{
		Name: "QueueForced", Writers: []string{ByDiscovery},
		Comment: "a backfill with force hands any job not in flight to a new message",
		From:    []string{NoRow, contract.StatusCompleted, contract.StatusFailed, contract.StatusPermanentlyFailed}, To: contract.StatusQueued,
		Update:    Queue.Update,
		Condition: "attribute_not_exists(#id) OR NOT (#st IN (:queued, :pending, :inprogress)) OR (#st = :queued AND #tok = :token)",
	}
	Unqueue = Transition{
		Name: "Unqueue", Writers: []string{ByDiscovery},
		Comment: "the queue refused the message: back to the status before (FAILED for a new job), publication kept",
		From:    []string{contract.StatusQueued}, To: contract.StatusFailed,
		Update:    "SET #st = :prev, #up = :now",
		Condition: "#st = :queued AND #pub = :pub",
	}
	Sent = Transition{
		Name: "Sent", Writers: []string{ByDiscovery, ByCleanup, ByInvoke},
		Comment:   "the message of the current publication was sent: the reaper need not guess whether it waits in the queue",
		From:      []string{contract.StatusQueued},
		Update:    "SET #sent = :pub",
		Condition: "#st = :queued AND #pub = :pub",
	}
	Claim = Transition{
		Name: "Claim", Writers: []string{ByStateMachine},
		Comment: "the execution of the current publication takes the job; a done job, another execution's or a superseded publication is skipped",
		From:    []string{NoRow, contract.StatusQueued, contract.StatusFailed, contract.StatusPending}, To: contract.StatusPending,
		Update:    "SET #st = :pending, #ex = :exec, #up = :now, #cr = if_not_exists(#cr, :now), #at = if_not_exists(#at, :zero)",
		Condition: "(attribute_not_exists(#ex) OR #ex = :exec) AND (attribute_not_exists(#pub) OR #pub = :pub OR :pub = :zero) AND (:force = :yes OR (NOT (#st IN (:completed, :permfailed)) AND (attribute_not_exists(#at) OR #at < :max)))",
	}
	Defer = Transition{
		Name: "Defer", Writers: []string{ByStateMachine},
		Comment: "no slot: capacity trouble, not the job's; the claim is given back uncounted and the state machine sends a new message",
		From:    []string{contract.StatusPending}, To: contract.StatusQueued,
		Update:    "SET #st = :queued, #up = :now, #tok = :exec REMOVE #ex, #sent ADD #pub :one",
		Condition: "#ex = :exec AND #st = :pending",
	}
	DeferAttempt = Transition{
		Name: "DeferAttempt", Writers: []string{ByStateMachine},
		Comment: "throttled or breaker open after the pass's own retries: the attempt is taken back, the slot released and a new message sent",
		From:    []string{contract.StatusInProgress}, To: contract.StatusQueued,
		Update:    "SET #st = :queued, #up = :now, #tok = :exec, #at = #at - :one REMOVE #ex, #sent ADD #pub :one",
		Condition: "#ex = :exec AND #st = :inprogress",
	}
	Count = Transition{
		Name: "Count", Writers: []string{ByStateMachine},
		Comment: "the attempt is counted: attempts is set to the claimed value plus one, so a retried write counts once",
		From:    []string{contract.StatusPending}, To: contract.StatusInProgress,
		Update:    "SET #st = :inprogress, #up = :now, #at = :attempt",
		Condition: "#ex = :exec",
	}
	Fail = Transition{
		Name: "Fail", Writers: []string{ByStateMachine, ByCleanup},
		Comment: "an attempt failed with attempts left; discovery hands it to a new message",
		From:    []string{contract.StatusPending, contract.StatusInProgress}, To: contract.StatusFailed,
		Update:    "SET #st = :failed, #err = :err, #up = :now REMOVE #ex",
		Condition: "#ex = :exec AND (attribute_not_exists(#at) OR #at < :max)",
	}
	GiveUp = Transition{
		Name: "GiveUp", Writers: []string{ByStateMachine, ByCleanup},
		Comment: "the last allowed attempt failed",
		From:    []string{contract.StatusPending, contract.StatusInProgress}, To: contract.StatusPermanentlyFailed,
		Update:    "SET #st = :permfailed, #err = :err, #up = :now REMOVE #ex",
		Condition: "#ex = :exec AND #at >= :max",
	}
	Requeue = Transition{
		Name: "Requeue", Writers: []string{ByCleanup, ByInvoke, ByCLI},
		Comment: "a row whose message or execution is gone (seen unchanged since it was read) goes to a new message; attempts are kept",
		From:    []string{contract.StatusQueued, contract.StatusPending, contract.StatusFailed}, To: contract.StatusQueued,
		Update:    "SET #st = :queued, #up = :now, #tok = :token, #sent = if_not_exists(#sent, :zero) REMOVE #ex ADD #pub :one",
		Condition: "(#st = :seen AND #up = :seenat) OR (#st = :queued AND #tok = :token)",
	}
	Retry = Transition{
		Name: "Retry", Writers: []string{ByCLI},
		Comment: "an operator retry: a fresh attempt budget and a new publication, started directly",
		From:    []string{contract.StatusFailed, contract.StatusPermanentlyFailed, contract.StatusCompleted, contract.StatusPending, contract.StatusInProgress}, To: contract.StatusQueued,
		Update:    "SET #st = :queued, #at = :zero, #up = :now, #tok = :token, #sent = if_not_exists(#sent, :zero) REMOVE #ex ADD #pub :one",
		Condition: "(#st = :seen AND #up = :seenat) OR (#st = :queued AND #tok = :token)",
	}
	Forget = Transition{
		Name: "Forget", Writers: []string{ByStateMachine},
		Comment:   "a forced run forgets the recorded passes before running them again, so a failure cannot leave old and new prompt versions mixed",
		From:      []string{contract.StatusInProgress},
		Update:    "REMOVE #pass1, #pass2, #pass3 SET #up = :now",
		Condition: "#ex = :exec",
	}
	Complete = Transition{
		Name: "Complete", Writers: []string{ByStateMachine},
		Comment: "the last pass is recorded: the job is done and the claim given up",
		From:    []string{contract.StatusInProgress}, To: contract.StatusCompleted,
		Update:    "SET #pass = :pass, #up = :now, #st = :completed REMOVE #ex, #err",
		Condition: "#ex = :exec",
	}
	Record = Transition{
		Name: "Record", Writers: []string{ByStateMachine},
		Comment:   "a pass before the last is recorded",
		From:      []string{contract.StatusInProgress},
		Update:    "SET #pass = :pass, #up = :now",
		Condition: "#ex = :exec",
	}
)

// Lifecycle lists every transition.
var Lifecycle = []Transition{Queue, QueueForced, Unqueue, Sent, Claim, Defer, Count, DeferAttempt, Forget, Record, Complete, Fail, GiveUp, Requeue, Retry}

// ForPass binds the #pass placeholder of Record and Complete to one pass.
func (t Transition) ForPass(p contract.Pass) Transition {
	t.Update = strings.ReplaceAll(t.Update, "#pass ", "#"+string(p)+" ")
	return t
}

// Forgetting adds attributes (passes) to remove.
func (t Transition) Forgetting(passes ...contract.Pass) Transition {
	for _, p := range passes {
		t.Update = strings.Replace(t.Update, "REMOVE ", "REMOVE #"+string(p)+", ", 1)
	}
	return t
}

var (
	nameToken  = regexp.MustCompile(`#[A-Za-z0-9_]+`)
	valueToken = regexp.MustCompile(`:[A-Za-z0-9_]+`)
)

func (t Transition) expressions() string { return t.Update + " " + t.Condition }

// Names are the expression attribute names the transition uses (DynamoDB refuses
// unused ones).
func (t Transition) Names() map[string]string {
	out := map[string]string{}
	for _, n := range nameToken.FindAllString(t.expressions(), -1) {
		out[n] = attrNames[n]
	}
	return out
}

// Constants are the shared values the transition uses.
func (t Transition) Constants() map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for _, v := range valueToken.FindAllString(t.expressions(), -1) {
		if c, ok := constants[v]; ok {
			out[v] = c
		}
	}
	return out
}

// Args are the values the writer supplies, sorted.
func (t Transition) Args() []string {
	var out []string
	for _, v := range valueToken.FindAllString(t.expressions(), -1) {
		if _, ok := constants[v]; !ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// CheckArgs reports a missing or unknown argument.
func (t Transition) CheckArgs(got []string) error {
	want := t.Args()
	g := slices.Sorted(slices.Values(got))
	if !slices.Equal(g, want) {
		return fmt.Errorf("transition %s takes %v, got %v", t.Name, want, g)
	}
	return nil
}

// Input is the UpdateItem of the transition for job id with args.
func (t Transition) Input(table, id string, args map[string]types.AttributeValue) (*dynamodb.UpdateItemInput, error) {
	if err := t.CheckArgs(slices.Collect(maps.Keys(args))); err != nil {
		return nil, err
	}
	values := t.Constants()
	maps.Copy(values, args)
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{contract.StatusKey: sv(id)},
		UpdateExpression:          aws.String(t.Update),
		ConditionExpression:       aws.String(t.Condition),
		ExpressionAttributeNames:  t.Names(),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	}, nil
}

// TimeLayout is the one format of updatedAt (the index's sort key) and createdAt:
// the format of the state machine's $$.State.EnteredTime, so every writer's values
// sort together.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Timestamp formats t for the status table.
func Timestamp(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Mermaid renders the lifecycle as a state diagram.
func Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	node := func(st string) string {
		if st == NoRow {
			return "[*]"
		}
		return st
	}
	for _, t := range Lifecycle {
		for _, from := range t.From {
			to := t.To
			if to == "" {
				to = from
			}
			fmt.Fprintf(&b, "    %s --> %s: %s (%s)\n", node(from), node(to), t.Name, strings.Join(t.Writers, ", "))
		}
	}
	b.WriteString("    COMPLETED --> [*]\n    PERMANENTLY_FAILED --> [*]\n")
	return b.String()
}
