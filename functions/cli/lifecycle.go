package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/status"
)

func newLifecycleCmd(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "lifecycle",
		Short: "Print the job lifecycle (every transition of the status item) as a Mermaid state diagram",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), status.Mermaid())
			return err
		},
	}
}
