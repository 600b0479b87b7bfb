package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

func TestFunctionName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"work", "work"},
		{"work:live", "work"},
		{"123456789012:function:work", "work"},
		{"123456789012:function:work:$LATEST", "work"},
		{"arn:aws:lambda:us-east-1:123456789012:function:work", "work"},
		{"arn:aws:lambda:us-east-1:123456789012:function:work:7", "work"},
	}
	for _, tt := range tests {
		if got := functionName(tt.in); got != tt.want {
			t.Errorf("functionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type valueErr struct{}

func (valueErr) Error() string { return "value" }

func TestErrorType(t *testing.T) {
	named := &contract.Error{Name: contract.ErrNameTruncated, Message: "cut"}
	tests := []struct {
		err      error
		wantType string
		wantMsg  string
	}{
		{named, contract.ErrNameTruncated, "cut"},
		{fmt.Errorf("pass2: %w", named), contract.ErrNameTruncated, "cut"},
		{errors.New("x"), "errorString", "x"},
		{fs.ErrNotExist, "errorString", "file does not exist"},
		{&fs.PathError{Op: "open", Path: "p", Err: fs.ErrNotExist}, "PathError", "open p: file does not exist"},
		{valueErr{}, "valueErr", "value"},
	}
	for _, tt := range tests {
		if got := errorType(tt.err); got != tt.wantType {
			t.Errorf("errorType(%v) = %q, want %q", tt.err, got, tt.wantType)
		}
		if got := errorMessage(tt.err); got != tt.wantMsg {
			t.Errorf("errorMessage(%v) = %q, want %q", tt.err, got, tt.wantMsg)
		}
	}
}

// Above its reserved concurrency a function is throttled as Lambda throttles it:
// 429 TooManyRequestsException with the reservation as the reason, seen by the real
// SDK client; below it, invocations run.
func TestReservedConcurrencyThrottles(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	f := &functions{handlers: map[string]Handler{}, log: slog.New(slog.DiscardHandler)}
	f.register("work", func(ctx context.Context, _ []byte) ([]byte, error) {
		started <- struct{}{}
		<-release
		return []byte(`"done"`), nil
	})
	f.setReserved("work", 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serveInvoke(w, r, "work") }))
	defer srv.Close()
	client := lambda.New(lambda.Options{
		Region: Region, BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	invoke := func() error {
		_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("work")})
		return err
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- invoke() }()
	}
	<-started
	<-started
	err := invoke()
	var tooMany *lambdatypes.TooManyRequestsException
	if !errors.As(err, &tooMany) || tooMany.Reason != lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("third concurrent invoke: %v, want TooManyRequestsException (reserved concurrency)", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusTooManyRequests {
		t.Fatalf("status of the throttle: %v, want 429", err)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := invoke(); err != nil {
		t.Fatalf("invoke after the others ended: %v", err)
	}
	f.setReserved("work", 0)
	if _, ok := f.admit("work"); !ok {
		t.Fatal("no cap after removing the reservation")
	}
}
