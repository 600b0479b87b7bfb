package localcloud

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// Handler is an in-process Lambda function: the raw invoke payload in, the raw
// response out.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// JSONHandler adapts a typed handler (like a Lambda handler in Go) to a Handler.
func JSONHandler[In, Out any](fn func(context.Context, In) (Out, error)) Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, fmt.Errorf("decode payload: %w", err)
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// functions are the registered in-process handlers, keyed by function name.
type functions struct {
	mu       sync.RWMutex
	handlers map[string]Handler
	reserved map[string]int // reserved concurrency; absent: unlimited
	running  map[string]int // invocations in progress
	log      *slog.Logger
}

// setReserved caps the concurrent invocations of name at n, as Lambda's
// PutFunctionConcurrency does; n <= 0 removes the cap.
func (f *functions) setReserved(name string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reserved == nil {
		f.reserved, f.running = map[string]int{}, map[string]int{}
	}
	if n <= 0 {
		delete(f.reserved, name)
		return
	}
	f.reserved[name] = n
}

// reservation is name's reserved concurrency, as GetFunctionConcurrency reports it;
// false when the function is not registered (not deployed).
func (f *functions) reservation(name string) (n int, deployed bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, deployed = f.handlers[name]
	return f.reserved[name], deployed
}

// admit counts an invocation of name in, or refuses it when the function already
// runs as many as its reserved concurrency; release counts it out.
func (f *functions) admit(name string) (release func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	limit, capped := f.reserved[name]
	if !capped {
		return func() {}, true
	}
	if f.running[name] >= limit {
		return nil, false
	}
	f.running[name]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.running[name]--
	}, true
}

func (f *functions) register(name string, h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[name] = h
}

func (f *functions) lookup(name string) (Handler, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	h, ok := f.handlers[name]
	return h, ok
}

// functionName accepts a name, a partial or full ARN, each with an optional qualifier.
func functionName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if parts := strings.Split(s, ":"); len(parts) >= 7 {
			return parts[6]
		}
		return s
	}
	parts := strings.Split(s, ":")
	if len(parts) >= 3 && parts[1] == "function" { // account:function:name[:qualifier]
		return parts[2]
	}
	return parts[0]
}

func functionARN(name string) string {
	return Account.FunctionARN(name)
}

// invokeResult is what Lambda reports for a failed invocation.
type invokeResult struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// serveInvoke answers Lambda Invoke like the service: 200 with the payload, or 200 with
// X-Amz-Function-Error and {errorType, errorMessage}.
func (f *functions) serveInvoke(w http.ResponseWriter, r *http.Request, rawName string) {
	name := functionName(rawName)
	h, ok := f.lookup(name)
	if !ok {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		writeJSON(w, http.StatusNotFound, map[string]string{
			"Type":    "User",
			"Message": "Function not found: " + functionARN(name),
		})
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read payload", http.StatusBadRequest)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	release, ok := f.admit(name)
	if !ok {
		// Lambda's answer above the reserved concurrency: a throttle, not a function error.
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded.",
		})
		return
	}
	defer release()
	// Handlers see the Lambda context they would see in AWS (request id, function ARN).
	requestID := rand.Text()
	ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: functionARN(name),
	})
	out, fail := f.call(ctx, name, h, payload)
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if fail != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeJSON(w, http.StatusOK, fail)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// call runs a handler; a panic becomes the crash Lambda reports when the runtime exits.
func (f *functions) call(ctx context.Context, name string, h Handler, payload []byte) (out []byte, fail *invokeResult) {
	defer func() {
		if p := recover(); p != nil {
			f.log.Warn("function crashed", "function", name, "panic", fmt.Sprint(p))
			out, fail = nil, &invokeResult{ErrorType: "Runtime.ExitError", ErrorMessage: "Runtime exited with error: exit status 2"}
		}
	}()
	out, err := h(ctx, payload)
	if err != nil {
		return nil, &invokeResult{ErrorType: errorType(err), ErrorMessage: errorMessage(err)}
	}
	return out, nil
}

// errorType is the named kind of a *contract.Error, otherwise the type name the Go
// runtime reports (the error's type without package or pointer).
func errorType(err error) string {
	if ce, ok := errors.AsType[*contract.Error](err); ok {
		return ce.Name
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func errorMessage(err error) string {
	if ce, ok := errors.AsType[*contract.Error](err); ok {
		return ce.Message
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
