// Package lambdaerr turns our named errors into the Lambda error type the state
// machine's Retry and Catch match on.
package lambdaerr

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Wrap reports a *contract.Error anywhere in err's chain with errorType = its Name;
// other errors keep the runtime's default type.
func Wrap(err error) error {
	var ce *contract.Error
	if errors.As(err, &ce) {
		return messages.InvokeResponse_Error{Type: ce.Name, Message: err.Error()}
	}
	return err
}
