// Command infra is the Pulumi program of the enrichment pipeline: it packages the
// four functions, reads the stack's settings and deploys one pipeline component.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// The project root (where Pulumi.yaml is) holds functions/ and dist/.
		code, err := buildFunctions(ctx.Context(), ctx.RootDirectory())
		if err != nil {
			return err
		}
		return program(ctx, code)
	})
}
