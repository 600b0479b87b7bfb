package cli

import (
	"strings"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/spf13/cobra"
)

// completePasses completes a pass flag with the pass names.
func completePasses(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return strings.Split(joinPasses(contract.Passes), ", "), cobra.ShellCompDirectiveNoFileComp
}

// joinPasses is "pass1, pass2".
func joinPasses(ps []contract.Pass) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script",
		Long: "Prints a completion script for the shell. To load it:\n" +
			"  bash: source <(enrichctl completion bash)\n" +
			"  zsh:  enrichctl completion zsh > \"${fpath[1]}/_enrichctl\"\n" +
			"  fish: enrichctl completion fish > ~/.config/fish/completions/enrichctl.fish",
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, root := cmd.OutOrStdout(), cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			default:
				return root.GenFishCompletion(w, true)
			}
		},
	}
}
