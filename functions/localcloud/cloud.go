// Package localcloud is the local AWS of the demo and the integration tests: moto
// (S3, DynamoDB, SQS, Step Functions) behind a Go gateway that runs Lambda functions
// in-process and answers Bedrock Converse with an emulator.
package localcloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
)

// Region and AccountID are those of every local resource (moto's defaults).
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// Account is where every local resource lives.
var Account = contract.Account{Partition: "aws", Region: Region, ID: AccountID}

// Options configure Start.
type Options struct {
	// Port of the gateway on 127.0.0.1; 0 picks a free one.
	Port int
	// Bedrock configures the emulator. Set Bedrock.Offline to the offline model
	// (localcloud/offline.Answer) for answers to any posting.
	Bedrock bedrockemu.Options
	// Logger receives the gateway's logs (default: discarded).
	Logger *slog.Logger
}

// Cloud is a running local cloud.
type Cloud struct {
	dir       string
	moto      *moto
	auth      authorizer
	server    *http.Server
	endpoint  string
	functions *functions
	bedrock   *bedrockemu.Emulator
	control   *ControlPlane
	answers   *answers
	log       *slog.Logger

	mu       sync.Mutex
	mappings []*Mapping
}

// Start launches moto and the gateway. The error wraps ErrMotoMissing when moto is
// not installed.
func Start(ctx context.Context, opts Options) (*Cloud, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "localcloud-")
	if err != nil {
		return nil, fmt.Errorf("local cloud temp dir: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(opts.Port))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("gateway listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	m, err := startMoto(ctx, dir, port)
	if err != nil {
		ln.Close()
		if errors.Is(err, ErrMotoMissing) {
			os.RemoveAll(dir)
		} // otherwise dir stays: it holds moto.log, named in err
		return nil, err
	}
	if err := m.enableAccessControl(ctx); err != nil {
		m.stop()
		ln.Close()
		return nil, fmt.Errorf("%w (log: %s)", err, filepath.Join(dir, "moto.log"))
	}
	motoURL, err := url.Parse(m.url)
	if err != nil {
		m.stop()
		ln.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("moto url: %w", err)
	}
	c := &Cloud{
		dir:       dir,
		moto:      m,
		endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		functions: &functions{handlers: map[string]Handler{}, log: log},
		bedrock:   bedrockemu.New(opts.Bedrock),
		answers:   &answers{},
		log:       log,
	}
	c.control = newControlPlane(c.functions.reservation)
	c.auth = authorizer{m.authorizer}
	c.server = &http.Server{Handler: newGateway(motoURL, c.functions, c.bedrock, c.control, c.answers, c.auth, log)}
	go func() {
		if err := c.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("gateway stopped", "error", err)
		}
	}()
	log.Info("local cloud started", "endpoint", c.endpoint, "moto", m.url, "moto_log", c.MotoLog())
	return c, nil
}

// Endpoint is the gateway URL: the base endpoint of every SDK client (AWS_ENDPOINT_URL).
func (c *Cloud) Endpoint() string { return c.endpoint }

// MotoLog is the file moto writes its output to.
func (c *Cloud) MotoLog() string { return filepath.Join(c.dir, "moto.log") }

// AWSConfig is an SDK configuration for the local cloud with the credentials of its
// operator (a user allowed everything, as a deployer is): us-east-1, every service at
// the gateway. Handlers get RoleConfig instead.
func (c *Cloud) AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithBaseEndpoint(c.endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(OperatorAccessKey, OperatorSecretKey, "")),
		// moto returns no response checksums; validating only when asked keeps the
		// SDK from logging a line for every GetObject.
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// moto verifies signatures but cannot read a streamed (aws-chunked) body with a
		// trailing checksum; sending checksums only when an operation requires them keeps
		// request bodies plain.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("local cloud aws config: %w", err)
	}
	return cfg, nil
}

// RegisterFunction makes Lambda Invoke of name (or any ARN of it) call h.
func (c *Cloud) RegisterFunction(name string, h Handler) { c.functions.register(name, h) }

// SetReservedConcurrency caps the concurrent invocations of the function name at n,
// as its reserved concurrency does in Lambda: an Invoke above it gets 429
// TooManyRequestsException. n <= 0 removes the cap.
func (c *Cloud) SetReservedConcurrency(name string, n int) { c.functions.setReserved(name, n) }

// Bedrock is the Converse emulator, to set faults and read the call log.
func (c *Cloud) Bedrock() *bedrockemu.Emulator { return c.bedrock }

// ControlPlane answers the Bedrock, Service Quotas and Lambda account calls moto
// lacks; set its answers to model the account.
func (c *Cloud) ControlPlane() *ControlPlane { return c.control }

// Close stops the SQS mappings, the gateway and moto, and removes the temp dir.
func (c *Cloud) Close() error {
	c.mu.Lock()
	mappings := c.mappings
	c.mappings = nil
	c.mu.Unlock()
	for _, m := range mappings {
		m.Stop()
	}
	err := c.server.Close()
	c.moto.stop()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("close local cloud: %w", err)
	}
	return nil
}
