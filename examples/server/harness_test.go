package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests run the server as a real child process: this test binary,
// re-executed with runServerEnv set, runs cli instead of the tests. A child
// started with exitOnStdinEOFEnv also exits when its stdin closes, that is
// when the test process dies without its cleanups (a -timeout panic), so no
// server outlives the tests.
const (
	runServerEnv      = "BERTH_TEST_RUN_SERVER"
	exitOnStdinEOFEnv = "BERTH_TEST_EXIT_ON_STDIN_EOF"
)

func TestMain(m *testing.M) {
	if os.Getenv(runServerEnv) == "1" {
		if os.Getenv(exitOnStdinEOFEnv) == "1" {
			go func() {
				_, _ = io.Copy(io.Discard, os.Stdin)
				os.Exit(3)
			}()
		}
		os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Bounds on every wait.
const (
	startTimeout = 30 * time.Second
	exitTimeout  = 10 * time.Second
)

// serverCmd is the command that runs the server binary with args.
func serverCmd(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), runServerEnv+"=1")
	return cmd
}

// runCheck runs "server check -data dir" to completion and returns its exit
// status and standard output.
func runCheck(t *testing.T, dir string, extra ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := serverCmd(ctx, t, append([]string{"check", "-data", dir}, extra...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running check: %v", err)
	}
	require.NoError(t, ctx.Err(), "check did not finish in time")
	t.Logf("server check -data %s: exit %d\n%s%s", dir, cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	return cmd.ProcessState.ExitCode(), stdout.String()
}

// serverProc is a running server process.
type serverProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *logWriter
	done   chan struct{} // closed when the process has exited
	addr   string        // host:port it listens on
	URL    string        // http://addr
	client *http.Client
}

// startServer runs the server on a free port of 127.0.0.1 over dataDir and
// waits until /healthz answers 200. The process is killed at cleanup if it
// is still running.
func startServer(t *testing.T, dataDir string, extra ...string) *serverProc {
	t.Helper()
	return startServerTLS(t, dataDir, nil, extra...)
}

// startServerTLS is startServer for a server speaking HTTPS, whose
// certificate roots (read once the server has started: a self-signed CA
// is made at start) verifies; nil roots means plain HTTP.
func startServerTLS(t *testing.T, dataDir string, roots func() *x509.CertPool, extra ...string) *serverProc {
	t.Helper()
	// Auth is off unless a test turns it on: these tests are about storage.
	// So is Trivy (in jsonv2 builds): its DB download would reach for the
	// network, and tests that scan bring their own DB.
	args := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-auth=false", "-trivy=false"}, extra...)
	cmd := serverCmd(context.Background(), t, args...) // ended by kill, stop or cleanup
	cmd.Env = append(cmd.Env, exitOnStdinEOFEnv+"=1")
	_, err := cmd.StdinPipe() // held open until the process exits; Wait closes it
	require.NoError(t, err)
	s := &serverProc{t: t, cmd: cmd, logs: newLogWriter(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			_ = cmd.Process.Kill()
			s.waitExit()
		}
		if t.Failed() {
			t.Logf("server %d log:\n%s", cmd.Process.Pid, s.logs.String())
		}
	})

	select {
	case s.addr = <-s.logs.addr:
	case <-s.done:
		t.Fatalf("server exited during startup (%v):\n%s", cmd.ProcessState, s.logs.String())
	case <-time.After(startTimeout):
		t.Fatalf("server did not log its address within %v:\n%s", startTimeout, s.logs.String())
	}
	s.URL = "http://" + s.addr
	tr := &http.Transport{}
	if roots != nil {
		s.URL = "https://" + s.addr
		tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots()}, ForceAttemptHTTP2: true}
	}
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{Transport: tr, Timeout: time.Minute}
	waitFor(t, startTimeout, "/healthz answers 200", func() bool {
		resp, err := s.client.Get(s.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func (s *serverProc) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the process to exit and returns its exit status
// (-1 when a signal ended it).
func (s *serverProc) waitExit() int {
	s.t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(exitTimeout):
		s.t.Fatalf("server did not exit within %v", exitTimeout)
		return 0
	}
}

// kill ends the server with SIGKILL: no shutdown, no flush, as a crash.
func (s *serverProc) kill() {
	s.t.Helper()
	s.client.CloseIdleConnections()
	require.NoError(s.t, s.cmd.Process.Kill())
	require.Equal(s.t, -1, s.waitExit(), "the server was running until SIGKILL")
}

// stop ends the server with SIGTERM and requires a clean exit.
func (s *serverProc) stop() {
	s.t.Helper()
	s.client.CloseIdleConnections()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(s.t, 0, s.waitExit(), "exit status after SIGTERM")
}

// logWriter collects a server's output and reports the address from its
// "berth listening" log line.
type logWriter struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	found   bool
	addr    chan string // receives the listen address once
}

func newLogWriter() *logWriter { return &logWriter{addr: make(chan string, 1)} }

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	if w.found {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		line, rest, ok := bytes.Cut(w.partial, []byte("\n"))
		if !ok {
			break
		}
		w.partial = rest
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "berth listening" {
			w.addr <- rec.Addr
			w.found, w.partial = true, nil
			break
		}
	}
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
