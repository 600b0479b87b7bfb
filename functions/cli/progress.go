package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bar is a progress bar on a terminal. Written to a file or a pipe it draws nothing,
// so no carriage-return frames land in logs; step then prints a plain line instead.
type bar struct {
	pb  *progressbar.ProgressBar
	w   io.Writer
	tty bool
}

func newBar(w io.Writer, max int, desc string) *bar {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	return &bar{w: w, tty: tty, pb: progressbar.NewOptions(max, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionSetDescription(desc), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(tty))}
}

// step advances the bar by one with a new description; off a terminal it prints
// "line: desc".
func (b *bar) step(desc, line string) {
	_ = b.pb.Add(1)
	b.pb.Describe(desc)
	if !b.tty && line != "" {
		fmt.Fprintf(b.w, "%s: %s\n", line, desc)
	}
}

// set moves the bar to n with a new description (drawn on a terminal only).
func (b *bar) set(n int, desc string) {
	_ = b.pb.Set(n)
	b.pb.Describe(desc)
}

// done completes the bar after the work completed.
func (b *bar) done() {
	_ = b.pb.Finish()
	b.end()
}

// stop leaves the bar where the work stopped (failure or interrupt): it does not jump
// to 100 %.
func (b *bar) stop() {
	_ = b.pb.Exit()
	b.end()
}

func (b *bar) end() {
	if b.tty {
		fmt.Fprintln(b.w)
	}
}
