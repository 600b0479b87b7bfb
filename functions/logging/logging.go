// Package logging builds the JSON slog logger every handler uses. Lambda's log-level
// filtering reads the `level` and RFC 3339 `timestamp` keys.
package logging

import (
	"io"
	"log/slog"
	"os"
	"time"
)

// New returns a JSON logger writing to w (os.Stdout when nil) at the level named by
// the AWS_LAMBDA_LOG_LEVEL environment variable, INFO by default.
func New(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(os.Getenv("AWS_LAMBDA_LOG_LEVEL")))
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.String("timestamp", a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	})
	return slog.New(h)
}
