package cli

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestLocalUp starts the local cloud of the dev stack, which provisions the real
// pipeline definition in moto, and stops it on cancel.
func TestLocalUp(t *testing.T) {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		t.Skip("moto not installed: ", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, IO{In: strings.NewReader(""), Out: w, Err: io.Discard}, []string{"local", "up", "--port", "0"})
		w.Close()
	}()
	var out strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Ctrl-C") {
			break
		}
	}
	for _, want := range []string{"enrichctl --local --endpoint http://127.0.0.1:", "AWS_ENDPOINT_URL=http://127.0.0.1:", "ai-enrichment-dev-jobs.fifo", "stateMachine:ai-enrichment-dev-pipeline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "export ") {
		t.Errorf("the banner suggests an export, which redirects every AWS command of the shell:\n%s", out.String())
	}
	cancel()
	go io.Copy(io.Discard, r) // nothing more is expected, but never block the command
	if code := <-done; code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
}
