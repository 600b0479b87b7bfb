package pipeline

import (
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// role creates one role, trusted by its service, with one inline least-privilege
// policy: the statements the code declared (functions/manifest).
func (b *builder) role(r spec.Role) (*iam.Role, error) {
	policy, err := r.Policy()
	if err != nil {
		return nil, err
	}
	return iam.NewRole(b.ctx, r.Name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(r.Name),
		AssumeRolePolicy: pulumi.String(r.TrustPolicy()),
		InlinePolicies: iam.RoleInlinePolicyArray{
			iam.RoleInlinePolicyArgs{Name: pulumi.String("least-privilege"), Policy: pulumi.String(policy)},
		},
		Tags: b.tags,
	}, b.parent)
}
