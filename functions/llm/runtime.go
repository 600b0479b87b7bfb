package llm

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// RuntimeOptions are the transport and retry settings of the Bedrock runtime client.
// Zero values take the defaults below.
type RuntimeOptions struct {
	// ConnectTimeout bounds the TCP dial and the TLS handshake. Default 5 s.
	ConnectTimeout time.Duration
	// ReadTimeout bounds how long the connection may stay silent. Converse is not
	// streamed, so the wait for the first byte covers the whole generation. Default
	// 150 s, under the EnrichPartition Lambda timeout so the handler can still report
	// a named error. (The SDK sets no read timeout for Bedrock Runtime by default.)
	ReadTimeout time.Duration
	// MaxAttempts is the SDK's attempts per call, first one included, for the
	// failures it retries (5xx, connection errors, ModelNotReady; never throttling).
	// Default 3.
	MaxAttempts int
	// MaxBackoff caps the SDK's jittered backoff between attempts. Default 20 s.
	MaxBackoff time.Duration
}

// Defaults of RuntimeOptions.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 150 * time.Second
	DefaultMaxAttempts    = 3
	DefaultMaxBackoff     = 20 * time.Second
)

func (o RuntimeOptions) withDefaults() RuntimeOptions {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return o
}

// NewRuntime builds the Bedrock runtime client with explicit timeouts and the SDK's
// standard retryer (not adaptive: its retry budget never refills, aws-sdk-go-v2#3550).
// The standard retryer retries HTTP 500/502/503/504 and connection failures; here it
// also retries ModelNotReadyException (the model is being loaded), and it never
// retries:
//   - a read timeout: resending a long generation that already timed out only doubles
//     its cost, so that decision is left to the state machine;
//   - throttling (every code Kind names ModelThrottled): a throttle is a capacity
//     signal, not a fault. Retried in the process it reached the concurrency
//     controller only after up to MaxAttempts refused calls (each one counted against
//     the quota's requests) and a success after throttled retries looked like plain
//     success. Failing at once, the pass reports the throttle, the controller cuts the
//     limit, and the state machine's throttle retry (longer, jittered backoff under
//     the new limit) sends the call again. Bedrock's guidance for ThrottlingException
//     is exactly that: back off and retry ("Troubleshooting Amazon Bedrock API error
//     codes", ThrottlingException).
func NewRuntime(cfg aws.Config, o RuntimeOptions) *bedrockruntime.Client {
	o = o.withDefaults()
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = o.ConnectTimeout }).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = o.ConnectTimeout }).
		WithReadTimeout(o.ReadTimeout)
	retryer := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.MaxBackoff = o.MaxBackoff
		so.Retryables = append([]retry.IsErrorRetryable{noReadTimeoutRetry{}, noThrottleRetry{}}, so.Retryables...)
		so.Retryables = append(so.Retryables, retry.RetryableErrorCode{
			Codes: map[string]struct{}{"ModelNotReadyException": {}},
		})
	})
	return bedrockruntime.NewFromConfig(cfg, func(bo *bedrockruntime.Options) {
		bo.HTTPClient = httpClient
		bo.Retryer = retryer
		bo.RetryMode = aws.RetryModeStandard
		bo.RetryMaxAttempts = o.MaxAttempts
	})
}

// noReadTimeoutRetry vetoes retrying a timeout that happened after the connection
// was made. Dial timeouts stay retryable: nothing was sent.
type noReadTimeoutRetry struct{}

func (noReadTimeoutRetry) IsErrorRetryable(err error) aws.Ternary {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return aws.UnknownTernary
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// noThrottleRetry vetoes retrying a throttled attempt (see NewRuntime). It comes before
// the SDK's own rules, which would retry ThrottlingException and TooManyRequests.
type noThrottleRetry struct{}

func (noThrottleRetry) IsErrorRetryable(err error) aws.Ternary {
	if Kind(err) == contract.ErrNameThrottled {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}
