package cli

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// Rendering values for the definition outside a deployment: a realistic account and
// region so the output is a complete, lintable definition.
const (
	renderAccount = "123456789012"
	renderRegion  = "us-east-1"
)

// diagramPage is the Markdown page of `make diagram`: the stack, then the flowchart.
//
//go:embed workflow_diagram.md
var diagramPage string

func init() {
	wf := &cobra.Command{Use: "workflow", Short: "Render the enrichment state machine"}
	wf.AddCommand(&cobra.Command{
		Use:   "asl",
		Short: "Print the state machine definition (ASL JSON) of --stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := renderedPipeline()
			if err != nil {
				return err
			}
			out, err := m.JSON()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	var markdown bool
	diagram := &cobra.Command{
		Use:   "diagram",
		Short: "Print the state machine of --stack as a Mermaid flowchart",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := renderedPipeline()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !markdown {
				_, err = fmt.Fprint(w, m.Mermaid())
				return err
			}
			_, err = fmt.Fprintf(w, diagramPage, flagStack, m.Mermaid())
			return err
		},
	}
	diagram.Flags().BoolVar(&markdown, "markdown", false, "wrap the diagram in a Markdown page")
	wf.AddCommand(diagram)
	Root.AddCommand(wf)
}

// renderedPipeline builds the definition of --stack from its Pulumi.<stack>.yaml.
func renderedPipeline() (*workflow.StateMachine, error) {
	s, err := workflowStackSettings(flagStack)
	if err != nil {
		return nil, err
	}
	n := names()
	return workflow.Pipeline(n, s, contract.Account{Partition: "aws", Region: renderRegion, ID: renderAccount})
}

// workflowStackSettings loads Pulumi.<stack>.yaml from the repository root, found by
// walking up from the working directory to Pulumi.yaml.
func workflowStackSettings(stack string) (stacks.Settings, error) {
	dir, err := os.Getwd()
	if err != nil {
		return stacks.Settings{}, fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return stacks.LoadFile(dir, stack)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return stacks.Settings{}, usageErr("no Pulumi.yaml above the working directory: run enrichctl inside the %s repository", contract.Project)
		}
		dir = parent
	}
}
