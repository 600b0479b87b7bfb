package enrichpartition

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// failingPuts answers the PutObjects of one key with S3's 500 InternalError while
// armed (the first limit of them, or all when limit is 0); with commit set it forwards
// the request first, so the write lands and only its acknowledgement is lost.
type failingPuts struct {
	next   aws.HTTPClient
	key    string
	commit bool
	limit  int64
	armed  atomic.Bool
	failed atomic.Int64
}

func (f *failingPuts) Do(r *http.Request) (*http.Response, error) {
	if !f.armed.Load() || r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/"+f.key) ||
		(f.limit > 0 && f.failed.Load() >= f.limit) {
		return f.next.Do(r)
	}
	if f.commit {
		resp, err := f.next.Do(r)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
	}
	f.failed.Add(1)
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`
	return &http.Response{
		StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

// faultyHandler is a handler of f whose Bronze client goes through faults.
func faultyHandler(t *testing.T, f *fixture, faults *failingPuts) *Handler {
	t.Helper()
	cfg, err := f.cloud.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	storage := cfg.Copy()
	faults.next = storage.HTTPClient
	if faults.next == nil {
		faults.next = awshttp.NewBuildableClient()
	}
	storage.HTTPClient = faults
	h, err := New(storage, cfg, f.h.opts, f.h.log, f.h.metrics)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The raw answer is what a retry reuses, so its write outlasts a short S3 outage (here
// four 500s, one more than the SDK's default three attempts) inside the invocation.
func TestRawWriteOutlastsShortOutage(t *testing.T) {
	f := setup(t)
	faults := &failingPuts{key: contract.BronzeRawKey(f.job, contract.Pass1, testModel), limit: 4}
	h := faultyHandler(t, f, faults)
	faults.armed.Store(true)
	if _, err := h.Handle(context.Background(), f.input(contract.Pass1, false)); err != nil {
		t.Fatalf("pass with %d failed raw writes: %v", faults.failed.Load(), err)
	}
	if faults.failed.Load() != 4 || f.emu.Count(f.job, contract.Pass1) != 1 {
		t.Fatalf("%d failed raw writes, %d model calls", faults.failed.Load(), f.emu.Count(f.job, contract.Pass1))
	}
}

// A Bronze JSON write that fails after the model answered is retried by Step Functions
// (StorageError): the retry of the same execution must reuse the stored raw answer, or
// the stored document when the write did land, and never pay the model again (D3).
func TestStorageFailureAfterAnswerPaysOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool // the write lands, its acknowledgement is lost
		force  bool
	}{
		{name: "write fails"},
		{name: "write fails, forced", force: true},
		{name: "acknowledgement lost, forced", commit: true, force: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			faults := &failingPuts{key: contract.BronzeKey(f.job, contract.Pass1, testModel), commit: tc.commit}
			h := faultyHandler(t, f, faults)
			in := f.input(contract.Pass1, tc.force)
			calls := 0
			if tc.force {
				earlier := f.input(contract.Pass1, false) // the result the forced run replaces
				earlier.ExecutionID += "-earlier"
				if _, err := f.h.Handle(context.Background(), earlier); err != nil {
					t.Fatal(err)
				}
				calls = 1
			}

			faults.armed.Store(true)
			_, err := h.Handle(context.Background(), in)
			wantNamed(t, err, contract.ErrNameStorage)
			if faults.failed.Load() == 0 || f.emu.Count(f.job, contract.Pass1) != calls+1 {
				t.Fatalf("fault not reached: %d failed puts, %d model calls", faults.failed.Load(), f.emu.Count(f.job, contract.Pass1))
			}

			faults.armed.Store(false) // Step Functions retries the pass
			out, err := h.Handle(context.Background(), in)
			if err != nil {
				t.Fatalf("retried pass: %v", err)
			}
			if n := f.emu.Count(f.job, contract.Pass1); n != calls+1 {
				t.Fatalf("%d model calls for the pass, want %d: the retry paid the model again", n, calls+1)
			}
			d := f.doc(contract.Pass1)
			if d.Metadata.ExecutionID != in.ExecutionID || d.Metadata.ModelCalls != 1 || d.Metadata.Tokens.Output == 0 || out.Tokens != d.Metadata.Tokens {
				t.Fatalf("stored document %+v, output %+v", d.Metadata, out)
			}
		})
	}
}
