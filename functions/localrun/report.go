package localrun

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Sample is one look at the pipeline during a demo, for the report's charts.
type Sample struct {
	Elapsed    time.Duration `json:"elapsed_ns"`
	SlotsInUse int           `json:"slots_in_use"`
	Done       int           `json:"done"`
}

// chart is one inline SVG line chart of the report.
type chart struct {
	Title, Unit string
	Max         int
	Points      string // SVG polyline points
	Limit       string // y of a dashed limit line, "" for none
	LimitLabel  string
	Seconds     string
}

const chartW, chartH = 640.0, 160.0

// newChart draws value over time as a step line scaled to max.
func newChart(title, unit string, samples []Sample, value func(Sample) int, max int, limitLabel string) chart {
	c := chart{Title: title, Unit: unit, Max: max}
	if max < 1 {
		max = 1
	}
	end := time.Second
	if n := len(samples); n > 0 && samples[n-1].Elapsed > end {
		end = samples[n-1].Elapsed
	}
	x := func(d time.Duration) float64 { return float64(d) / float64(end) * chartW }
	y := func(v int) float64 { return chartH - float64(v)/float64(max)*chartH }
	var b strings.Builder
	prev := 0
	for i, s := range samples {
		v := value(s)
		if i > 0 {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(s.Elapsed), y(prev))
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x(s.Elapsed), y(v))
		prev = v
	}
	c.Points = strings.TrimSpace(b.String())
	if limitLabel != "" {
		c.Limit, c.LimitLabel = fmt.Sprintf("%.1f", y(max)), limitLabel
	}
	c.Seconds = fmt.Sprintf("%.1f s", end.Seconds())
	return c
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ai-enrichment demo</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.none{color:#999}.note{background:#fff7e0;border:1px solid #f0d890;padding:8px 12px}
svg{background:#fafafa;border:1px solid #ddd}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:4px}
</style></head><body>
<h1>ai-enrichment demo</h1>
<p>{{.Summary.Totals.Passes}} passes of {{.Jobs}} jobs in {{.Wall}}; model: {{.Summary.Model}},
{{.Summary.ModelCalls}} calls, {{.Summary.CacheHits}} passes served from the Bronze cache;
peak {{.Summary.PeakSlots}} of {{.MaxSlots}} slots in use; {{.Summary.DLQ}} dead letters.</p>
{{if .Offline}}<p class="note">Answers come from the <b>offline model</b> of the local cloud: keyword rules read from each
posting, no model read it (every Bronze document says <code>"answer_source": "offline"</code>).
<code>make demo BEDROCK=aws</code> asks Amazon Bedrock instead.</p>{{end}}
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption>
<svg width="640" height="180" viewBox="-40 -10 700 190" role="img" aria-label="{{.Title}}">
<line x1="0" y1="160" x2="640" y2="160" stroke="#888"/><line x1="0" y1="0" x2="0" y2="160" stroke="#888"/>
<text x="-8" y="164" text-anchor="end" font-size="11">0</text><text x="-8" y="4" text-anchor="end" font-size="11">{{.Max}}</text>
<text x="640" y="176" text-anchor="end" font-size="11">{{.Seconds}}</text><text x="0" y="176" font-size="11">0 s</text>
{{if .Limit}}<line x1="0" y1="{{.Limit}}" x2="640" y2="{{.Limit}}" stroke="#c33" stroke-dasharray="4 3"/>
<text x="636" y="{{.Limit}}" dy="-3" text-anchor="end" font-size="11" fill="#c33">{{.LimitLabel}}</text>{{end}}
<polyline points="{{.Points}}" fill="none" stroke="#2767b0" stroke-width="2"/>
</svg></figure>{{end}}
<h2>Results</h2>
<table><tr><th>job</th><th>title</th><th>location</th><th>salary found</th><th>work model</th><th>seniority</th><th>top skills</th><th>answered by</th></tr>
{{range .Results}}<tr><td>{{.JobPostingID}}</td><td>{{.Title}}</td><td>{{.Location}}</td>
<td>{{if .Salary}}{{.Salary}}{{else}}<span class="none">none stated</span>{{end}}</td><td>{{.WorkModel}}</td><td>{{.Seniority}}</td>
<td>{{range $i, $s := .Skills}}{{if $i}}, {{end}}{{$s}}{{end}}</td><td>{{.AnswerSource}}</td></tr>
{{end}}</table>
<p>Every field of the three passes is described in <code>docs/passes.md</code>; the documents are under
<code>{{.Summary.BronzeDir}}/ai_enrichment/{job}/</code>.</p>
</body></html>
`))

// WriteReport renders the demo as one self-contained HTML page: the summary, charts of
// slots in use and jobs completed over time, and the results table. It uses no
// external asset (styles and SVG inline), so it opens anywhere.
func WriteReport(w io.Writer, s DemoSummary, maxSlots int) error {
	jobs := 0
	for _, n := range s.Jobs {
		jobs += n
	}
	return reportTemplate.Execute(w, map[string]any{
		"Summary": s, "Jobs": jobs, "MaxSlots": maxSlots, "Wall": s.Wall.Round(100 * time.Millisecond),
		"Offline": s.Offline, "Results": s.Results,
		"Charts": []chart{
			newChart("Semaphore slots in use", "slots", s.Timeline, func(x Sample) int { return x.SlotsInUse }, maxSlots,
				fmt.Sprintf("limit %d (maxConcurrentExecutions)", maxSlots)),
			newChart("Jobs done (COMPLETED or PERMANENTLY_FAILED)", "jobs", s.Timeline, func(x Sample) int { return x.Done }, jobs, ""),
		},
	})
}
