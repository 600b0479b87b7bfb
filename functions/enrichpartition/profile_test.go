package enrichpartition

import (
	"context"
	"testing"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// D1: switching a pass to the cross-region inference profile of the same model keeps
// the cache: the Bronze key strips the profile prefix, and the stored answer's model
// (the plain id) must be taken for the profile's, or every job is paid again.
func TestInferenceProfileOfTheSameModelHitsCache(t *testing.T) {
	f := setup(t)
	f.mustRun(contract.Pass1, false)
	profiled := *f.h
	profiled.opts.Models = map[contract.Pass]string{contract.Pass1: "global." + testModel}
	later := f.input(contract.Pass1, false) // a later execution: only the cache can serve it
	later.ExecutionID += "-later"
	out, err := profiled.Handle(context.Background(), later)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Cached || f.emu.Count(f.job, contract.Pass1) != 1 {
		t.Fatalf("the profile of the stored model missed the cache: cached=%v, %d model calls", out.Cached, f.emu.Count(f.job, contract.Pass1))
	}
}
