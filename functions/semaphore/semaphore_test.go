package semaphore

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/stacks"
)

func TestMain(m *testing.M) { os.Exit(localcloud.RunTests(m, localcloud.Options{}, nil)) }

func TestParseState(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	st, err := parseState(map[string]types.AttributeValue{
		contract.SemaphoreKey:      s(contract.SemaphoreLockName),
		contract.SemaphoreCount:    num(3),
		contract.SemaphoreMax:      num(5),
		contract.SemaphoreLimit:    num(4),
		HolderAttribute("job-2-b"): s("2026-11-28T10:00:01.500Z"),
		HolderAttribute("job-1-a"): s("2026-11-28T10:00:00+00:00"),
		HolderAttribute("job-3-c"): s("not a time"),
		// Not holders: an unprefixed name, a bare prefix, the controller's memory.
		"job-4-d":                        s("2026-11-28T10:00:00Z"),
		contract.SemaphoreHolderPrefix:   s("2026-11-28T10:00:00Z"),
		contract.SemaphoreLimitChangedAt: s("2026-11-28T09:00:00Z"),
		contract.SemaphoreSuccessStreak:  num(7),
		contract.SemaphorePausedUntil:    s("2026-11-28T09:00:10Z"),
		contract.SemaphorePauseMillis:    num(10_000),
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 3 || st.Max != 5 || st.Effective != 4 || st.Limit() != 4 || st.SuccessStreak != 7 || len(st.Holders) != 3 {
		t.Fatalf("state %+v", st)
	}
	if !st.PausedUntil.Equal(time.Date(2026, 11, 28, 9, 0, 10, 0, time.UTC)) || st.Pause != 10*time.Second {
		t.Fatalf("paused until %v for %v", st.PausedUntil, st.Pause)
	}
	if !st.LimitChangedAt.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("limit changed at %v", st.LimitChangedAt)
	}
	// The unparseable time sorts first (zero), so a sweep treats it as the oldest.
	want := []string{"job-3-c", "job-1-a", "job-2-b"}
	for i, h := range st.Holders {
		if h.Execution != want[i] {
			t.Fatalf("holder %d is %s, want %s (all: %+v)", i, h.Execution, want[i], st.Holders)
		}
	}
	if got := st.Holders[2].AcquiredAt; !got.Equal(time.Date(2026, 11, 28, 10, 0, 1, 5e8, time.UTC)) {
		t.Fatalf("acquired at %v", got)
	}
	if _, err := parseState(map[string]types.AttributeValue{contract.SemaphoreCount: s("3")}); err == nil {
		t.Fatal("want an error for a count stored as a string")
	}
}

var stackSeq atomic.Int32

// newSemaphore provisions a fresh stack and writes the semaphore item with count and
// holders acquired at the given times.
func newSemaphore(t *testing.T, count int, holders map[string]time.Time) *Semaphore {
	t.Helper()
	ctx := t.Context()
	cfg, err := localcloud.Shared(t).AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stack := fmt.Sprintf("sem%d", stackSeq.Add(1))
	s, err := stacks.Defaults("dev")
	if err != nil {
		t.Fatal(err)
	}
	s.BronzeBucket, s.SilverBucket = stack+"-bronze", stack+"-silver"
	names := contract.NamesFor(stack)
	if _, err := localcloud.Provision(ctx, cfg, names, s, ""); err != nil {
		t.Fatal(err)
	}
	item := map[string]types.AttributeValue{
		contract.SemaphoreKey:   &types.AttributeValueMemberS{Value: contract.SemaphoreLockName},
		contract.SemaphoreCount: num(count),
		contract.SemaphoreMax:   num(s.MaxConcurrentExecutions),
	}
	for name, at := range holders {
		item[HolderAttribute(name)] = &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}
	}
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(names.SemaphoreTable), Item: item}); err != nil {
		t.Fatal(err)
	}
	return New(db, names.SemaphoreTable)
}

func TestRelease(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name         string
		count        int
		holders      []string
		release      string
		wantReleased bool
		wantCount    int
		wantHolders  int
	}{
		{"holder", 2, []string{"a", "b"}, "a", true, 1, 1},
		{"already released", 1, []string{"b"}, "a", false, 1, 1},
		{"holder with a drifted zero count", 0, []string{"a"}, "a", true, 0, 0},
		{"no holder and zero count", 0, nil, "a", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]time.Time{}
			for _, n := range tt.holders {
				h[n] = now
			}
			sem := newSemaphore(t, tt.count, h)
			released, err := sem.Release(t.Context(), tt.release)
			if err != nil || released != tt.wantReleased {
				t.Fatalf("Release = %v, %v; want %v", released, err, tt.wantReleased)
			}
			again, err := sem.Release(t.Context(), tt.release)
			if err != nil || again {
				t.Fatalf("second Release = %v, %v; want false, nil", again, err)
			}
			st, err := sem.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Count != tt.wantCount || len(st.Holders) != tt.wantHolders {
				t.Fatalf("after release: count %d holders %d, want %d and %d", st.Count, len(st.Holders), tt.wantCount, tt.wantHolders)
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		count     int
		holders   int
		apply     bool
		wantDrift int
		wantCount int
	}{
		{"leaked up, repaired", 5, 2, true, 3, 2},
		{"leaked down, repaired", 0, 2, true, -2, 2},
		{"leaked up, report only", 4, 1, false, 3, 4},
		{"consistent", 2, 2, true, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]time.Time{}
			for i := range tt.holders {
				h["job-"+strconv.Itoa(i)] = now
			}
			sem := newSemaphore(t, tt.count, h)
			drift, err := sem.Reconcile(t.Context(), tt.apply)
			if err != nil || drift != tt.wantDrift {
				t.Fatalf("Reconcile = %d, %v; want %d", drift, err, tt.wantDrift)
			}
			st, err := sem.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Count != tt.wantCount || len(st.Holders) != tt.holders {
				t.Fatalf("count %d holders %d, want %d and %d", st.Count, len(st.Holders), tt.wantCount, tt.holders)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct{ max, effective, want int }{
		{5, 0, 5}, // never set by the controller
		{5, 3, 3},
		{5, 5, 5},
		{2, 4, 2}, // a deploy lowered the maximum below the effective limit
	} {
		if got := (State{Max: tc.max, Effective: tc.effective}).Limit(); got != tc.want {
			t.Errorf("Limit(max %d, effective %d) = %d, want %d", tc.max, tc.effective, got, tc.want)
		}
	}
}

// TestStrayAttributesAreNotHolders: an attribute of the item that is not a holder
// (the controller's, an operator's note, a holder written without the prefix) is
// never counted, released or reconciled as a holder (issue 11, S3).
func TestStrayAttributesAreNotHolders(t *testing.T) {
	ctx := t.Context()
	sem := newSemaphore(t, 1, map[string]time.Time{"job-1-a": time.Now()})
	if _, err := sem.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(sem.table), Key: sem.key(),
		UpdateExpression:          aws.String("SET #note = :t, #lim = :n"),
		ExpressionAttributeNames:  map[string]string{"#note": "note", "#lim": contract.SemaphoreLimit},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: time.Now().Format(time.RFC3339)}, ":n": num(3)},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := sem.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Holders) != 1 || st.Holders[0].Execution != "job-1-a" {
		t.Fatalf("holders %+v, want only job-1-a", st.Holders)
	}
	if released, err := sem.Release(ctx, "note"); err != nil || released {
		t.Fatalf("Release(note) = %v, %v; want nothing released", released, err)
	}
	if drift, err := sem.Reconcile(ctx, true); err != nil || drift != 0 {
		t.Fatalf("Reconcile = %d, %v; want no drift", drift, err)
	}
	if st, err = sem.Read(ctx); err != nil || st.Count != 1 || st.Effective != 3 {
		t.Fatalf("after reconcile: %+v, %v", st, err)
	}
}

// TestConfigure: a deploy sets the maximum and keeps the count, the holders and a
// live effective limit; it writes the initial limit only where none is set, removes
// the limit when the stack has no controller, and creates a missing item.
func TestConfigure(t *testing.T) {
	ctx := t.Context()
	sem := newSemaphore(t, 2, map[string]time.Time{"job-1-a": time.Now(), "job-2-b": time.Now()})
	read := func() State {
		t.Helper()
		st, err := sem.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if err := sem.Configure(ctx, Config{Max: 1, Initial: 1}); err != nil {
		t.Fatal(err)
	}
	if st := read(); st.Max != 1 || st.Count != 2 || len(st.Holders) != 2 || st.Effective != 1 || st.Limit() != 1 {
		t.Fatalf("after Configure(1, 1): %+v", st)
	}
	if _, err := sem.SetLimit(ctx, 3, true, read(), time.Now()); err != nil { // the controller moves it
		t.Fatal(err)
	}
	if err := sem.Configure(ctx, Config{Max: 6, Initial: 2}); err != nil { // a redeploy
		t.Fatal(err)
	}
	if st := read(); st.Max != 6 || st.Effective != 3 || st.LimitChangedAt.IsZero() || !st.Configured(Config{Max: 6, Initial: 2}) {
		t.Fatalf("a redeploy reset the live limit: %+v", st)
	}
	if _, err := sem.SetPause(ctx, time.Now().Add(time.Minute), time.Minute, read()); err != nil {
		t.Fatal(err)
	}
	if err := sem.Configure(ctx, Config{Max: 6}); err != nil { // the controller turned off
		t.Fatal(err)
	}
	if st := read(); st.Effective != 0 || !st.LimitChangedAt.IsZero() || !st.LimitDecreasedAt.IsZero() || !st.PausedUntil.IsZero() || st.Pause != 0 || st.Limit() != 6 || len(st.Holders) != 2 {
		t.Fatalf("without a controller the limit stays: %+v", st)
	}
	if _, err := sem.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(sem.table), Key: sem.key()}); err != nil {
		t.Fatal(err)
	}
	if err := sem.Configure(ctx, Config{Max: 4, Initial: 2}); err != nil {
		t.Fatal(err)
	}
	if st := read(); st.Max != 4 || st.Count != 0 || len(st.Holders) != 0 || st.Limit() != 2 {
		t.Fatalf("after Configure(4, 2) of a missing item: %+v", st)
	}
	for _, c := range []Config{{Max: 0}, {Max: 2, Initial: 3}, {Max: 2, Initial: -1}} {
		if err := sem.Configure(ctx, c); err == nil {
			t.Errorf("Configure(%+v) must be refused", c)
		}
	}
}

// TestSetPause: of two passes throttled at once (both read the item without a pause),
// only the first arms it; a pass that saw it arms the next.
func TestSetPause(t *testing.T) {
	ctx := t.Context()
	sem := newSemaphore(t, 0, nil)
	seen, err := sem.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 12, 1, 12, 0, 10, 0, time.UTC)
	for i, want := range []bool{true, false} {
		if won, err := sem.SetPause(ctx, until.Add(time.Duration(i)*time.Second), 10*time.Second, seen); err != nil || won != want {
			t.Fatalf("pass %d: SetPause = %v, %v; want %v", i, won, err, want)
		}
	}
	seen, err = sem.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !seen.PausedUntil.Equal(until) || seen.Pause != 10*time.Second {
		t.Fatalf("paused until %v for %v, want %v for 10s", seen.PausedUntil, seen.Pause, until)
	}
	if won, err := sem.SetPause(ctx, until.Add(time.Minute), 20*time.Second, seen); err != nil || !won {
		t.Fatalf("the next pause: %v, %v", won, err)
	}
}

func TestConfigured(t *testing.T) {
	for _, tc := range []struct {
		st   State
		c    Config
		want bool
	}{
		{State{Max: 4, Effective: 3}, Config{Max: 4, Initial: 2}, true},
		{State{Max: 4}, Config{Max: 4}, true},
		{State{Max: 5, Effective: 3}, Config{Max: 4, Initial: 2}, false},
		{State{Max: 4}, Config{Max: 4, Initial: 2}, false},
		{State{Max: 4, Effective: 3}, Config{Max: 4}, false},
	} {
		if got := tc.st.Configured(tc.c); got != tc.want {
			t.Errorf("%+v.Configured(%+v) = %v, want %v", tc.st, tc.c, got, tc.want)
		}
	}
}
