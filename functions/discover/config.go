package discover

import (
	"errors"
	"strconv"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/bronze"
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Options configure a Handler.
type Options struct {
	SilverBucket  string
	SilverPrefix  string
	BronzeBucket  string
	StatusTable   string
	QueueURL      string
	MaxPartitions int // partitions read per run
	MaxJobs       int // jobs published per partition per run, and FAILED jobs retried per run
	MaxAttempts   int // a FAILED job with fewer attempts is published again
	// MaxConcurrent is the stack's concurrency: it paces the retries of FAILED jobs
	// (RetryBacklogPerSlot); 0 keeps them at MaxJobs per run.
	MaxConcurrent int
	MessageGroups int
	// Settle is how long after its hour ends a partition is taken as fully written;
	// until then each run revisits it and the cursor stays before it.
	Settle    time.Duration
	CursorKey string // Bronze key of the cursor
	// LateLookback is how far behind the cursor each run looks for Silver that landed
	// late (stack setting lateLookback; 0 turns it off).
	LateLookback time.Duration
	Stack        string // metric dimension
}

// DefaultSettle leaves Spark time to finish writing an hour's partition.
const DefaultSettle = 30 * time.Minute

// Spec is what DiscoverPartitions reads from its environment and the AWS calls it
// makes. Adding a setting or a call is one line here.
var Spec = spec.Function[Options]{
	Key: "discover-partitions",
	Defaults: func() Options {
		return Options{SilverPrefix: contract.DefaultSilverPrefix, Settle: DefaultSettle, CursorKey: contract.DefaultCursorKeyName}
	},
	Name: func(n contract.Names) string { return n.DiscoverFunction },
	Vars: []spec.Var[Options]{
		spec.String(contract.EnvSilverBucket, func(st spec.Stack) string { return st.Settings.SilverBucket },
			func(o *Options) *string { return &o.SilverBucket }).Required(),
		spec.String(contract.EnvSilverPrefix, func(st spec.Stack) string { return st.Settings.SilverPrefix },
			func(o *Options) *string { return &o.SilverPrefix }),
		spec.String(contract.EnvBronzeBucket, func(st spec.Stack) string { return st.Settings.BronzeBucket },
			func(o *Options) *string { return &o.BronzeBucket }).Required(),
		spec.String(contract.EnvStatusTable, func(st spec.Stack) string { return st.Names.StatusTable },
			func(o *Options) *string { return &o.StatusTable }).Required(),
		spec.String(contract.EnvQueueURL, func(st spec.Stack) string { return st.QueueURL },
			func(o *Options) *string { return &o.QueueURL }).Required(),
		spec.Func(contract.EnvLateLookbackHours, func(st spec.Stack) string { return strconv.Itoa(int(st.Settings.LateLookback / time.Hour)) },
			func(o *Options, raw string) error {
				n, err := strconv.Atoi(raw)
				if err != nil || n < 0 {
					return errors.New("want a number of hours")
				}
				o.LateLookback = time.Duration(n) * time.Hour
				return nil
			}).Required(),
		spec.String(contract.EnvStack, func(st spec.Stack) string { return st.Settings.Stack },
			func(o *Options) *string { return &o.Stack }),
		spec.Int(contract.EnvMaxPartitions, 1, func(st spec.Stack) int { return st.Settings.MaxPartitionsPerRun },
			func(o *Options) *int { return &o.MaxPartitions }).Required(),
		spec.Int(contract.EnvMaxJobs, 1, func(st spec.Stack) int { return st.Settings.MaxJobsPerPartition },
			func(o *Options) *int { return &o.MaxJobs }).Required(),
		spec.Int(contract.EnvMaxAttempts, 1, func(st spec.Stack) int { return st.Settings.MaxAttempts },
			func(o *Options) *int { return &o.MaxAttempts }).Required(),
		spec.Int(contract.EnvMaxConcurrency, 0, func(st spec.Stack) int { return st.Settings.MaxConcurrentExecutions },
			func(o *Options) *int { return &o.MaxConcurrent }),
		spec.Int(contract.EnvMessageGroups, 1, func(st spec.Stack) int { return st.Settings.MessageGroups },
			func(o *Options) *int { return &o.MessageGroups }).Required(),
	},
	Calls: func(st spec.Stack) []spec.Statement {
		a, s, n := st.Account, st.Settings, st.Names
		return append(bronze.Statements(st, "s3:GetObject", "s3:PutObject"), // snapshots and the cursor
			spec.Statement{Sid: "SilverList", Actions: []string{"s3:ListBucket"}, Resources: []string{a.BucketARN(s.SilverBucket)},
				Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {s.SilverPrefix + "*"}}}},
			spec.Statement{Sid: "SilverObjects", Actions: []string{"s3:GetObject"}, Resources: []string{a.ObjectARN(s.SilverBucket, s.SilverPrefix+"*")}},
			// BatchGetItem reads statuses; UpdateItem marks QUEUED, and DeleteItem or
			// UpdateItem undo a mark the queue refused.
			spec.Statement{Sid: "StatusTable", Actions: []string{"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
				Resources: []string{a.TableARN(n.StatusTable)}},
			spec.Statement{Sid: "StatusIndex", Actions: []string{"dynamodb:Query"}, Resources: []string{a.IndexARN(n.StatusTable, contract.StatusIndex)}},
			// SendMessage publishes; GetQueueAttributes reads the queue depth.
			spec.Statement{Sid: "Publish", Actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, Resources: []string{a.QueueARN(n.Queue)}},
		)
	},
}
