package localcloud

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// LostAnswer makes the gateway lose the answers of some requests after moto applied
// them: the request is forwarded, its write commits, and the caller is answered 500
// InternalServerError as if the answer had been lost on the way back. A 5xx is to be
// retried (Error handling with DynamoDB, Developer Guide, "Error messages and codes"),
// and a retry of a write whose answer was lost meets that committed write (Amazon
// Builders' Library, "Making retries safe with idempotent APIs"). Requests are
// matched on their JSON protocol operation, table and a piece of their body.
type LostAnswer struct {
	Target   string // the X-Amz-Target header: "DynamoDB_20120810.UpdateItem"
	Table    string // the request's TableName; empty: any
	Contains string // a substring the request body holds (an update expression); empty: any
	Every    int    // the answer of every Every-th matching request is lost (<= 1: each)
	Limit    int    // at most this many answers are lost (0: no limit)
}

// Answer is one answered request of an observed operation, seen before the caller
// gets it.
type Answer struct {
	Target    string
	Request   []byte
	Status    int
	ErrorType string // the __type of an error answer, without its namespace
	Body      []byte
	Lost      bool // a LostAnswer replaced it with a 500
}

// AnswerFault is a registered LostAnswer; its counters say what it did.
type AnswerFault struct {
	rule     LostAnswer
	mu       sync.Mutex
	matched  int
	lost     int
	disabled bool
}

// Lost is the number of answers replaced so far.
func (f *AnswerFault) Lost() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

// Stop ends the fault: later requests are answered normally.
func (f *AnswerFault) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled = true
}

// take reports whether this matching request's answer is to be lost.
func (f *AnswerFault) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disabled || (f.rule.Limit > 0 && f.lost >= f.rule.Limit) {
		return false
	}
	f.matched++
	if f.matched%max(f.rule.Every, 1) != 0 {
		return false
	}
	f.lost++
	return true
}

func (r LostAnswer) matches(target string, body []byte) bool {
	if r.Target != target || (r.Contains != "" && !bytes.Contains(body, []byte(r.Contains))) {
		return false
	}
	if r.Table == "" {
		return true
	}
	var req struct{ TableName string }
	return json.Unmarshal(body, &req) == nil && req.TableName == r.Table
}

// answers holds the gateway's answer faults and observers.
type answers struct {
	mu        sync.Mutex
	faults    []*AnswerFault
	observers map[string][]func(Answer)
}

// LoseAnswers registers r with the gateway; it applies until Stop.
func (c *Cloud) LoseAnswers(r LostAnswer) *AnswerFault {
	f := &AnswerFault{rule: r}
	c.answers.mu.Lock()
	defer c.answers.mu.Unlock()
	c.answers.faults = append(c.answers.faults, f)
	return f
}

// ObserveAnswers calls fn with every answer to the operation target (an X-Amz-Target
// value) before the caller receives it: what fn reads then is the state the caller
// will act on. fn runs on the request's goroutine and may call the cloud, except
// DynamoDB when target is a DynamoDB operation (those calls are serialised).
func (c *Cloud) ObserveAnswers(target string, fn func(Answer)) {
	c.answers.mu.Lock()
	defer c.answers.mu.Unlock()
	if c.answers.observers == nil {
		c.answers.observers = map[string][]func(Answer){}
	}
	c.answers.observers[target] = append(c.answers.observers[target], fn)
}

// watched returns the faults and observers of target, nil when nothing watches it.
func (a *answers) watched(target string) ([]*AnswerFault, []func(Answer)) {
	if target == "" {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var faults []*AnswerFault
	for _, f := range a.faults {
		if f.rule.Target == target {
			faults = append(faults, f)
		}
	}
	return faults, a.observers[target]
}

// serve forwards a request to next and returns false when nothing watches its
// operation (the caller forwards it unbuffered); otherwise it buffers the answer,
// applies the faults, tells the observers and writes the answer.
func (a *answers) serve(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	target := r.Header.Get("X-Amz-Target")
	faults, observers := a.watched(target)
	if len(faults) == 0 && len(observers) == 0 {
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	ans := Answer{Target: target, Request: body, Status: rec.Code, Body: rec.Body.Bytes()}
	if rec.Code == http.StatusOK {
		for _, f := range faults {
			if f.rule.matches(target, body) && f.take() {
				ans.Lost = true
				break
			}
		}
	}
	header := rec.Header()
	if ans.Lost {
		ans.Status, ans.Body = http.StatusInternalServerError, internalError(target)
		// DynamoDB clients check the body against its CRC32.
		header = http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Errortype": {"InternalServerError"},
			"X-Amz-Crc32": {strconv.FormatUint(uint64(crc32.ChecksumIEEE(ans.Body)), 10)}}
	}
	ans.ErrorType = jsonErrorType(ans.Body, ans.Status)
	for _, fn := range observers {
		fn(ans)
	}
	for k, v := range header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body)
	return true
}

// internalError is the JSON protocol body of a 500 of the service of target.
func internalError(target string) []byte {
	typ := "InternalFailure"
	if strings.HasPrefix(target, "DynamoDB_") {
		typ = "com.amazonaws.dynamodb.v20120810#InternalServerError"
	}
	b, _ := json.Marshal(map[string]string{"__type": typ, "message": "localcloud: the answer was lost after the request was applied"})
	return b
}

// jsonErrorType is the error code of a JSON protocol error answer ("" for a success).
func jsonErrorType(body []byte, status int) string {
	if status < 300 {
		return ""
	}
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Type[strings.LastIndex(e.Type, "#")+1:]
}
