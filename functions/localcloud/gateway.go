package localcloud

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// gateway is the one endpoint handlers and moto talk to: Lambda Invoke runs the
// in-process handlers, Bedrock Converse goes to the emulator, the rest goes to moto.
type gateway struct {
	functions *functions
	bedrock   http.Handler
	control   *ControlPlane
	answers   *answers   // lost answers and observers of JSON protocol operations
	auth      authorizer // the caller's policy decides Invoke and Converse, as on AWS
	moto      *httputil.ReverseProxy
	// dynamo serialises DynamoDB calls: moto evaluates a condition and applies the
	// write without a lock, so two racing conditional writes could both succeed, which
	// DynamoDB never allows (the semaphore and the job claim depend on it).
	dynamo sync.Mutex
}

func newGateway(motoURL *url.URL, fns *functions, bedrock http.Handler, control *ControlPlane, ans *answers, auth authorizer, log *slog.Logger) *gateway {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(motoURL)
			r.Out.Host = r.In.Host // moto may route S3 on the Host header
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil { // a client that gave up (a stopped long poll) is no error
				log.Warn("moto proxy failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return &gateway{functions: fns, bedrock: bedrock, control: control, answers: ans, auth: auth, moto: proxy}
}

// ServeHTTP dispatches on the raw path: a ServeMux would clean it (S3 keys may hold
// "//" or "..") and a function name may be an escaped ARN.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.control.serve(w, r) {
		return
	}
	if r.Method == http.MethodPost {
		parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		if len(parts) == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "invocations" {
			if name, err := url.PathUnescape(parts[2]); err == nil {
				if g.auth.guard(w, r, "lambda:InvokeFunction", functionARN(functionName(name))) {
					g.functions.serveInvoke(w, r, name)
				}
				return
			}
		}
		if len(parts) == 3 && parts[0] == "model" && parts[2] == "converse" {
			for _, arn := range modelResources(parts[1]) {
				if !g.auth.guard(w, r, "bedrock:InvokeModel", arn) {
					return
				}
			}
			g.bedrock.ServeHTTP(w, r)
			return
		}
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
		g.dynamo.Lock()
		defer g.dynamo.Unlock()
	}
	if g.answers.serve(w, r, g.moto) {
		return
	}
	g.moto.ServeHTTP(w, r)
}
