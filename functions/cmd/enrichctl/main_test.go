package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM and SIGHUP stop `local up` as Ctrl-C does: moto (its own process group)
// is gone and its temp dir removed. Before, only SIGINT was handled: moto kept running
// under PID 1 with its temp dir.
func TestSignalsStopTheLocalCloud(t *testing.T) {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		t.Skip("moto not installed: ", err)
	}
	bin := filepath.Join(t.TempDir(), "enrichctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "local", "up", "--stack", "dev", "--json", "--port", strconv.Itoa(freePort(t)))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var up struct {
				MotoLog string `json:"moto_log"`
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || json.Unmarshal([]byte(line), &up) != nil || up.MotoLog == "" {
				t.Fatalf("local up printed %q: %v", line, err)
			}
			dir := filepath.Dir(up.MotoLog)
			if len(processesUsing(t, dir)) == 0 {
				t.Fatalf("no moto process runs from %s", dir)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("enrichctl still running a minute after the signal")
			}
			if pids := processesUsing(t, dir); len(pids) > 0 {
				for _, pid := range pids {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Fatalf("moto still running after %s: pids %v", sig, pids)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("temp dir %s left behind (%v)", dir, err)
			}
		})
	}
}

// processesUsing lists the processes whose command line names dir (moto's launcher
// lives there).
func processesUsing(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc: ", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		code int
		sig  any
		want int
	}{
		{0, nil, 0},
		{1, nil, 1},
		{1, syscall.SIGINT, 130},
		{1, syscall.SIGTERM, 143},
		{0, syscall.SIGTERM, 0}, // local up stopping cleanly is a success
	}
	for _, tt := range tests {
		if got := exitCode(tt.code, tt.sig); got != tt.want {
			t.Errorf("exitCode(%d, %v) = %d, want %d", tt.code, tt.sig, got, tt.want)
		}
	}
}
