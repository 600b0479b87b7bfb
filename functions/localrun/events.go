package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/aienrichment/ai-enrichment/functions/cleanup"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
)

// endedStatuses are the statuses the stack's EventBridge rule forwards to CleanupLocks.
var endedStatuses = cleanup.ForwardedStatuses

// StatusEvents stands in for the EventBridge rule that sends Step Functions status
// changes to CleanupLocks: moto emits no events, so Poll lists the executions that
// ended in a forwarded status and delivers their events as Delivery says. Poll is
// not safe for concurrent use.
type StatusEvents struct {
	st      *Stack
	seen    map[string]bool // execution ARNs whose end was noticed
	pending *deliveries
}

// NewStatusEvents returns a poller with nothing delivered yet that delivers every
// event exactly once, on the first poll after the execution ended.
func (st *Stack) NewStatusEvents() *StatusEvents { return st.NewStatusEventsWith(Delivery{}) }

// NewStatusEventsWith returns a poller delivering events as d says.
func (st *Stack) NewStatusEventsWith(d Delivery) *StatusEvents {
	return &StatusEvents{st: st, seen: map[string]bool{}, pending: newDeliveries(d, time.Now)}
}

// Stats counts the events lost, duplicated and delayed so far.
func (e *StatusEvents) Stats() DeliveryStats { return e.pending.stats }

// statusChangeEvent is the EventBridge envelope of a Step Functions status change.
type statusChangeEvent struct {
	Version    string       `json:"version"`
	ID         string       `json:"id"`
	DetailType string       `json:"detail-type"`
	Source     string       `json:"source"`
	Account    string       `json:"account"`
	Time       string       `json:"time"`
	Region     string       `json:"region"`
	Resources  []string     `json:"resources"`
	Detail     statusDetail `json:"detail"`
}

type statusDetail struct {
	ExecutionArn    string  `json:"executionArn"`
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StartDate       int64   `json:"startDate"` // epoch milliseconds, as EventBridge sends them
	StopDate        int64   `json:"stopDate"`
	Input           *string `json:"input"`
	Output          *string `json:"output"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// Poll notices the executions that ended since the last poll, then delivers every
// event that is due, and returns how many it delivered. A delivery that fails is
// tried again on the next poll, as EventBridge retries an asynchronous invoke.
func (e *StatusEvents) Poll(ctx context.Context) (int, error) {
	c := sfn.NewFromConfig(e.st.Config)
	for _, status := range endedStatuses {
		p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{
			StateMachineArn: aws.String(e.st.Resources.StateMachineARN), StatusFilter: status,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return 0, fmt.Errorf("list %s executions: %w", status, err)
			}
			for _, x := range page.Executions {
				if arn := aws.ToString(x.ExecutionArn); !e.seen[arn] {
					e.seen[arn] = true
					e.pending.add(arn)
				}
			}
		}
	}
	due := e.pending.due()
	for n, arn := range due {
		if err := e.deliver(ctx, c, arn); err != nil {
			for _, later := range due[n:] {
				e.pending.retry(later)
			}
			return n, err
		}
	}
	return len(due), nil
}

// deliver describes the execution (the list has no input) and hands its event to
// CleanupLocks.
func (e *StatusEvents) deliver(ctx context.Context, c *sfn.Client, arn string) error {
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("describe execution %s: %w", arn, err)
	}
	stop := aws.ToTime(d.StopDate)
	ev := statusChangeEvent{
		Version: "0", ID: "local-" + aws.ToString(d.Name) + "-" + string(d.Status),
		DetailType: "Step Functions Execution Status Change", Source: "aws.states",
		Account: localcloud.AccountID, Region: localcloud.Region,
		Time: stop.UTC().Format("2006-01-02T15:04:05Z"), Resources: []string{arn},
		Detail: statusDetail{
			ExecutionArn: arn, StateMachineArn: aws.ToString(d.StateMachineArn), Name: aws.ToString(d.Name),
			Status: string(d.Status), StartDate: aws.ToTime(d.StartDate).UnixMilli(), StopDate: stop.UnixMilli(),
			Input: d.Input, Output: d.Output, Error: d.Error, Cause: d.Cause,
		},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode status change of %s: %w", arn, err)
	}
	if _, err := e.st.Cleanup.Handle(ctx, payload); err != nil {
		return fmt.Errorf("cleanup of %s: %w", arn, err)
	}
	return nil
}
