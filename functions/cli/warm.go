package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrichpartition"
	"github.com/aienrichment/ai-enrichment/functions/llm"
)

func newWarmCmd(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "warm-schemas",
		Short: "Send each pass's structured-output schema to its model once, so Bedrock compiles it before the first job",
		Long: "Bedrock compiles the grammar of a new structured-output schema on the first request that\n" +
			"carries it (this can take minutes) and caches it for 24 hours. Run this after a deploy that\n" +
			"changes a prompt version or a model, and daily if the stack can sit idle for a day: each pass's\n" +
			"schema is sent once with a one-token budget and a 10-minute timeout, so no pass has to wait for a\n" +
			"compilation inside its Lambda timeout. Models of the --stack file; --local uses the emulator.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.settings()
			if err != nil {
				return err
			}
			cfg, endpoint, stop, err := o.runPassConfig(cmd.Context())
			if err != nil {
				return err
			}
			defer stop()
			client := llm.New(llm.NewRuntime(cfg, llm.RuntimeOptions{ReadTimeout: enrichpartition.WarmTimeout}), llm.Options{})
			models := map[contract.Pass]string{contract.Pass1: s.ModelPass1, contract.Pass2: s.ModelPass2, contract.Pass3: s.ModelPass3}
			warmed, werr := enrichpartition.WarmSchemas(cmd.Context(), client, models, s.ServiceTier)
			if o.JSON {
				if err := printJSON(cmd, map[string]any{"endpoint": endpoint, "warmed": warmed}); err != nil {
					return err
				}
			} else {
				for _, w := range warmed {
					state := fmt.Sprintf("schema sent, answered in %d ms", w.LatencyMs)
					if w.Skipped {
						state = "skipped (no structured output)"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", w.Pass, w.Model, state)
				}
			}
			return werr
		},
	}
}
