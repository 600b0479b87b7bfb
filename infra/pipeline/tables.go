package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// tables creates the semaphore and status tables (on demand, point-in-time recovery,
// encrypted) and seeds the semaphore item once.
func (b *builder) tables() error {
	common := func(name, key string) *dynamodb.TableArgs {
		return &dynamodb.TableArgs{
			Name:                      pulumi.String(name),
			BillingMode:               pulumi.String("PAY_PER_REQUEST"),
			HashKey:                   pulumi.String(key),
			PointInTimeRecovery:       &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
			ServerSideEncryption:      &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
			DeletionProtectionEnabled: pulumi.Bool(b.s.Stack == "prod"),
			Tags:                      b.tags,
		}
	}

	// No TTL on the semaphore: a stray ttl attribute would delete the lock item.
	semArgs := common(b.names.SemaphoreTable, contract.SemaphoreKey)
	semArgs.Attributes = dynamodb.TableAttributeArray{
		dynamodb.TableAttributeArgs{Name: pulumi.String(contract.SemaphoreKey), Type: pulumi.String("S")},
	}
	sem, err := dynamodb.NewTable(b.ctx, b.names.SemaphoreTable, semArgs, b.parent)
	if err != nil {
		return fmt.Errorf("semaphore table: %w", err)
	}

	// The item is written once and never again: a later `pulumi up` must not reset
	// the live count, drop the holders or reset the controller's effective limit.
	// It starts with the maximum and, when the stack adapts, the controller's initial
	// limit (contract.SemaphoreSeed); InvokeEnrichment applies a later deploy's
	// maximum (semaphore.Configure, docs/architecture.md).
	attrs := map[string]map[string]string{contract.SemaphoreKey: {"S": contract.SemaphoreLockName}}
	for name, n := range contract.SemaphoreSeed(b.s.MaxConcurrentExecutions, b.s.InitialLimit()) {
		attrs[name] = map[string]string{"N": strconv.Itoa(n)}
	}
	item, err := json.Marshal(attrs)
	if err != nil {
		return fmt.Errorf("semaphore item: %w", err)
	}
	if _, err := dynamodb.NewTableItem(b.ctx, b.prefix+"semaphore-item", &dynamodb.TableItemArgs{
		TableName: sem.Name,
		HashKey:   sem.HashKey,
		Item:      pulumi.String(string(item)),
	}, b.parent, pulumi.IgnoreChanges([]string{"item"})); err != nil {
		return fmt.Errorf("semaphore item: %w", err)
	}

	statusArgs := common(b.names.StatusTable, contract.StatusKey)
	statusArgs.Attributes = dynamodb.TableAttributeArray{
		dynamodb.TableAttributeArgs{Name: pulumi.String(contract.StatusKey), Type: pulumi.String("S")},
		dynamodb.TableAttributeArgs{Name: pulumi.String(contract.AttrOverallStatus), Type: pulumi.String("S")},
		dynamodb.TableAttributeArgs{Name: pulumi.String(contract.AttrUpdatedAt), Type: pulumi.String("S")},
	}
	statusArgs.GlobalSecondaryIndexes = dynamodb.TableGlobalSecondaryIndexArray{
		dynamodb.TableGlobalSecondaryIndexArgs{
			Name:           pulumi.String(contract.StatusIndex),
			HashKey:        pulumi.String(contract.AttrOverallStatus),
			RangeKey:       pulumi.String(contract.AttrUpdatedAt),
			ProjectionType: pulumi.String("ALL"),
		},
	}
	if _, err := dynamodb.NewTable(b.ctx, b.names.StatusTable, statusArgs, b.parent); err != nil {
		return fmt.Errorf("status table: %w", err)
	}
	return nil
}
