package localcloud

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed launcher.py
var launcherPy []byte

// ErrMotoMissing means python3 or its moto package is not installed.
var ErrMotoMissing = errors.New("moto server not available (pip install 'moto[server]')")

// moto is a running moto server process.
type moto struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	// authorizer is the launcher's side endpoint the gateway asks about the calls
	// it serves itself (Lambda Invoke, Bedrock).
	authorizer string
}

// launcherMissingMoto is the launcher's exit code when moto cannot be imported (it
// spares a separate probe interpreter: importing moto takes seconds).
const launcherMissingMoto = 3

// startMoto runs the launcher on a free loopback port. moto's Step Functions calls
// services at localhost:MOTO_PORT, so MOTO_PORT names the gateway, not moto itself.
// A free port is only free when it is chosen: a process started in parallel (tests
// of other packages start clouds too) can bind it before moto does, and moto then
// exits at once. That start is retried on new ports.
func startMoto(ctx context.Context, dir string, gatewayPort int) (*moto, error) {
	launcher := filepath.Join(dir, "launcher.py")
	if err := os.WriteFile(launcher, launcherPy, 0o600); err != nil {
		return nil, fmt.Errorf("write moto launcher: %w", err)
	}
	logPath := filepath.Join(dir, "moto.log")
	for attempt := 1; ; attempt++ {
		m, err := launchMoto(ctx, launcher, logPath, gatewayPort)
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return m, err
		}
	}
}

// portAttempts bounds the starts lost to a port taken between choice and bind.
const portAttempts = 3

var errPortTaken = errors.New("moto's port was taken before it could bind it")

func launchMoto(ctx context.Context, launcher, logPath string, gatewayPort int) (*moto, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create moto log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	authPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("python3", launcher, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_PORT="+strconv.Itoa(gatewayPort), "PYTHONUNBUFFERED=1",
		"LOCALCLOUD_AUTHORIZER_PORT="+strconv.Itoa(authPort))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", ErrMotoMissing, err)
		}
		return nil, fmt.Errorf("start moto: %w", err)
	}
	m := &moto{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}),
		authorizer: "http://127.0.0.1:" + strconv.Itoa(authPort) + "/authorize"}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitHealthy(ctx); err != nil {
		m.stop()
		msg, _ := os.ReadFile(logPath)
		switch {
		case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == launcherMissingMoto:
			return nil, fmt.Errorf("%w: %s", ErrMotoMissing, strings.TrimSpace(string(msg)))
		case strings.Contains(string(msg), "Address already in use"):
			return nil, fmt.Errorf("%w (log: %s)", errPortTaken, logPath)
		}
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	if err := m.post(ctx, "/moto-api/config", `{"stepfunctions":{"execute_state_machine":true}}`); err != nil {
		m.stop()
		return nil, fmt.Errorf("enable state machine execution: %w", err)
	}
	return m, nil
}

func (m *moto) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second) // slow on a loaded machine
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/config", nil)
		if err != nil {
			return fmt.Errorf("moto health request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 { // moto answers 201
				return nil
			}
		}
		select {
		case <-m.done:
			return errors.New("moto exited during start")
		case <-ctx.Done():
			return fmt.Errorf("moto not healthy: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *moto) post(ctx context.Context, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+path, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("moto request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto %s: %w", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("moto %s: status %d", path, resp.StatusCode)
	}
	return nil
}

// stop ends moto's whole process group (werkzeug may fork) and waits for it.
func (m *moto) stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
