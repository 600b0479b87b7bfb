package cli

import (
	"strings"
	"testing"
)

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 attempts", 1: "1 attempt", 2: "2 attempts"} {
		if got := plural(n, "attempt"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestClipLongValue(t *testing.T) {
	long := strings.Repeat("7", 5000)
	got := clip(long)
	if len(got) > 100 || !strings.Contains(got, "(5000 characters)") {
		t.Fatalf("clip = %q", got)
	}
	if clip("12345") != "12345" {
		t.Fatal("short values are kept")
	}
}

func TestNormalTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-01T21:10:38.236539919Z":   "2026-12-01T21:10:38Z",
		"2026-12-01T21:11:11.267714+00:00": "2026-12-01T21:11:11Z",
		"not a time":                       "not a time",
	} {
		if got := normalTime(in); got != want {
			t.Errorf("normalTime(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJobTextMidRetry(t *testing.T) {
	var b strings.Builder
	jobReport{ID: "12", Overall: "FAILED", Attempts: 0}.print(&b)
	if out := b.String(); strings.Contains(out, "0 attempts") || !strings.Contains(out, "no attempt counted yet") {
		t.Fatalf("text:\n%s", out)
	}
}

func TestLongJobIDIsClipped(t *testing.T) {
	code, _, errOut := runCLIWith(t, "", "job", strings.Repeat("1", 5000)+"x", "--local", "--endpoint", "http://127.0.0.1:1")
	if code != ExitUsage || len(errOut) > 300 {
		t.Fatalf("exit %d, %d bytes of stderr", code, len(errOut))
	}
}
