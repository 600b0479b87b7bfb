package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/enrich"
)

func newParseCmd(*Options) *cobra.Command {
	var parsePass string
	cmd := &cobra.Command{
		Use:   "parse --pass pass1|pass2|pass3 FILE|-",
		Short: "Parse and validate a raw model answer as the pipeline would",
		Long: "Reads a model's raw answer from FILE (or stdin for -) and prints one JSON object\n" +
			"{status, section, result, issues}. The exit code is 0 for every parse status.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := contract.ParsePass(parsePass)
			if err != nil {
				return usageErr("--pass: %v", err)
			}
			raw, err := readInput(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			out, err := json.MarshalIndent(enrich.Parse(pass, string(raw)), "", "  ")
			if err != nil {
				return fmt.Errorf("encode parse result: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&parsePass, "pass", "", "pass the answer is for: pass1, pass2 or pass3")
	_ = cmd.RegisterFlagCompletionFunc("pass", completePasses)
	return cmd
}

// readInput reads the named file, or stdin for "-".
func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		raw, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return raw, nil
	}
	raw, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageErr("no such file: %s", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	return raw, nil
}
