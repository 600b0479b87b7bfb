package cli

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/aienrichment/ai-enrichment/functions/contract"
)

// plural is "1 attempt", "2 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// clipRunes is the longest user-supplied value echoed in full.
const clipRunes = 64

// clip shortens a value from input for a message, so a 5,000-character id is not
// echoed back whole.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= clipRunes {
		return s
	}
	r := []rune(s)
	return fmt.Sprintf("%s… (%d characters)", string(r[:clipRunes]), len(r))
}

// round keeps d significant decimals, so JSON shows 33.3 rather than 33.333333333333336.
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

// timestamp is the one format of times in output: RFC 3339 in UTC, to the second.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// normalTime rewrites a stored timestamp (RFC 3339 with or without fractions or a
// numeric offset, as discovery and Step Functions write them) in timestamp's format;
// anything else is shown as stored.
func normalTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return timestamp(t)
}

// checkJobID refuses an invalid job id as a usage error, echoing at most a clip of it.
func checkJobID(id string) error {
	if err := contract.ValidateJobID(id); err != nil {
		return usageErr("job id %q must be 1 to 20 digits", clip(id))
	}
	return nil
}
