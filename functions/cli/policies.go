package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/manifest"
	"github.com/aienrichment/ai-enrichment/functions/spec"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// policy is one role as `enrichctl policies` prints it.
type policy struct {
	Role    string          `json:"role"`
	Service string          `json:"service"`
	Trust   json.RawMessage `json:"trust_policy"`
	Policy  json.RawMessage `json:"policy"`
}

// newPoliciesCmd prints every role of a stack as the Pulumi program creates it, from
// the same declarations (functions/manifest), for a security review before a deploy.
func newPoliciesCmd(o *Options) *cobra.Command {
	acct := contract.Account{Partition: "aws", Region: renderRegion, ID: renderAccount}
	cmd := &cobra.Command{
		Use:   "policies",
		Short: "Print every role's trust and permission policy of --stack, as `pulumi up` would create them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			roles, err := stackRoles(s, acct)
			if err != nil {
				return err
			}
			return printPolicies(cmd.OutOrStdout(), roles, o.JSON)
		},
	}
	cmd.Flags().StringVar(&acct.ID, "account", acct.ID, "account id the ARNs name")
	cmd.Flags().StringVar(&acct.Region, "region", acct.Region, "Region the stack deploys to")
	cmd.Flags().StringVar(&acct.Partition, "partition", acct.Partition, "partition (aws, aws-cn, aws-us-gov)")
	return cmd
}

// stackRoles are the roles of the stack s in acct.
func stackRoles(s stacks.Settings, acct contract.Account) ([]spec.Role, error) {
	names := contract.NamesFor(s.Stack)
	m, err := workflow.Pipeline(names, s, acct)
	if err != nil {
		return nil, usageErr("state machine of stack %s: %v", s.Stack, err)
	}
	return manifest.Roles(spec.Stack{Account: acct, Names: names, Settings: s}, m), nil
}

func printPolicies(w io.Writer, roles []spec.Role, asJSON bool) error {
	out := make([]policy, 0, len(roles))
	for _, r := range roles {
		doc, err := r.Policy()
		if err != nil {
			return err
		}
		out = append(out, policy{Role: r.Name, Service: r.Service, Trust: json.RawMessage(r.TrustPolicy()), Policy: json.RawMessage(doc)})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, p := range out {
		pretty, err := json.MarshalIndent(p.Policy, "  ", "  ")
		if err != nil {
			return fmt.Errorf("render policy of %s: %w", p.Role, err)
		}
		if _, err := fmt.Fprintf(w, "role %s (assumed by %s)\n  %s\n\n", p.Role, p.Service, pretty); err != nil {
			return err
		}
	}
	return nil
}
