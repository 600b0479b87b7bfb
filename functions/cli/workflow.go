package cli

import (
	_ "embed"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/workflow"
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

func newWorkflowCmd(o *Options) *cobra.Command {
	asl := &cobra.Command{
		Use:   "asl",
		Short: "Print the state machine definition (ASL JSON) of --stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := o.renderedPipeline()
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
	}
	var markdown bool
	diagram := &cobra.Command{
		Use:   "diagram",
		Short: "Print the state machine of --stack as a Mermaid flowchart (--json: in a JSON object)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := o.renderedPipeline()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if o.JSON {
				return o.output(w, map[string]string{"stack": o.Stack, "format": "mermaid", "diagram": m.Mermaid()}, nil)
			}
			if !markdown {
				_, err = fmt.Fprint(w, m.Mermaid())
				return err
			}
			_, err = fmt.Fprintf(w, diagramPage, o.Stack, m.Mermaid())
			return err
		},
	}
	diagram.Flags().BoolVar(&markdown, "markdown", false, "wrap the diagram in a Markdown page")
	return group("workflow", "Render the enrichment state machine", asl, diagram)
}

// renderedPipeline builds the definition of --stack from its Pulumi.<stack>.yaml.
func (o *Options) renderedPipeline() (*workflow.StateMachine, error) {
	s, err := o.settings()
	if err != nil {
		return nil, err
	}
	return workflow.Pipeline(o.names(), s, contract.Account{Partition: "aws", Region: renderRegion, ID: renderAccount})
}
