// Package metrics writes CloudWatch Embedded Metric Format lines: Lambda ships stdout
// to CloudWatch Logs, which extracts the metrics without any PutMetricData call.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units used by the pipeline.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	None         Unit = "None"
)

// Metric is one named value.
type Metric struct {
	Name  string
	Value float64
	Unit  Unit
}

// Emitter writes EMF lines to a writer, one line per Emit call.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns an emitter for namespace writing to w.
func New(w io.Writer, namespace string) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

// Emit writes the metrics with the given dimensions (all dimension keys form one
// dimension set) plus extra properties that are logged but not turned into metrics.
func (e *Emitter) Emit(dims map[string]string, props map[string]any, ms ...Metric) error {
	if e == nil || len(ms) == 0 {
		return nil
	}
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	defs := make([]map[string]string, 0, len(ms))
	doc := make(map[string]any, len(ms)+len(dims)+len(props)+1)
	for k, v := range props {
		doc[k] = v
	}
	for k, v := range dims {
		doc[k] = v
	}
	for _, m := range ms {
		defs = append(defs, map[string]string{"Name": m.Name, "Unit": string(m.Unit)})
		doc[m.Name] = m.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  e.namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode EMF line: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write EMF line: %w", err)
	}
	return nil
}
