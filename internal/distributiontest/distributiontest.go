// Package distributiontest runs a real CNCF Distribution registry (the
// `registry` binary, v3) for tests: a throw-away process over a test's
// temporary directory on a free 127.0.0.1 port, optionally behind htpasswd
// Basic auth, that a test can stop (SIGKILL) and start again on the same
// port and data, and whose access log it can read to count requests.
//
//	reg := distributiontest.Start(t, distributiontest.Options{Username: "u", Password: "p", AccessLog: true})
//	// push to reg.Host, point a client at reg.URL ...
//	reg.Stop()    // the port refuses connections: an outage
//	reg.Restart() // same port, same data
//	heads := reg.Count(func(r distributiontest.Request) bool { return r.Method == "HEAD" })
//
// When the binary is missing the test is skipped loudly, or fails under
// CI=true (internal/testtool).
package distributiontest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthlabs/berth/internal/testtool"
)

// Options configure a registry process. The zero value is an anonymous
// registry of `registry` (v3) without an access log.
type Options struct {
	// Username and Password, when set, require Basic credentials (htpasswd).
	Username, Password string
	// AccessLog records every request for Requests and Count.
	AccessLog bool
	// Binary is the program to run: "registry" when empty, or e.g.
	// "docker-registry" (Debian's 2.8), looked up by testtool.Require.
	Binary string
}

// Registry is a running Distribution process.
type Registry struct {
	URL  string // http://127.0.0.1:<port>
	Host string // 127.0.0.1:<port>, for image references
	Dir  string // the test's directory: config.yml, data/, logs

	t       testing.TB
	bin     string
	cfgPath string
	logPath string // the access log: the process's stdout
	errPath string // everything else: its stderr

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs a registry and stops it when the test ends.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	name := opts.Binary
	if name == "" {
		name = "registry"
	}
	r := &Registry{t: t, bin: testtool.Require(t, name), Dir: t.TempDir()}
	r.Host = freeAddr(t)
	r.URL = "http://" + r.Host
	r.logPath = filepath.Join(r.Dir, "access.log")
	r.errPath = filepath.Join(r.Dir, "registry.log")
	auth := ""
	if opts.Username != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("distributiontest: hashing the password: %v", err)
		}
		htpasswd := filepath.Join(r.Dir, "htpasswd")
		mustWrite(t, htpasswd, opts.Username+":"+string(h)+"\n")
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: distributiontest\n    path: %s\n", htpasswd)
	}
	// The fixed secret keeps upload sessions valid across a restart.
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: %t
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: a-fixed-secret-so-upload-state-survives-restarts
%s`, !opts.AccessLog, filepath.Join(r.Dir, "data"), r.Host, auth)
	r.cfgPath = filepath.Join(r.Dir, "config.yml")
	mustWrite(t, r.cfgPath, cfg)
	r.start()
	t.Cleanup(r.Stop)
	return r
}

// Stop kills the process (SIGKILL) and waits for it to exit, so the port
// refuses connections at once. Stopping a stopped registry does nothing.
func (r *Registry) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// Restart stops the process if it runs and starts it again on the same
// port over the same data; it returns once the registry answers.
func (r *Registry) Restart() {
	r.t.Helper()
	r.Stop()
	r.start()
}

func (r *Registry) start() {
	r.t.Helper()
	stdout, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatalf("distributiontest: %v", err)
	}
	stderr, err := os.OpenFile(r.errPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatalf("distributiontest: %v", err)
	}
	defer stdout.Close()
	defer stderr.Close()
	cmd := exec.Command(r.bin, "serve", r.cfgPath)
	// Files, not buffers: the process writes them directly, so reading
	// the log while it runs needs no copying goroutine and races nothing.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("distributiontest: starting %s: %v", r.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(r.URL + "/v2/")
		if err == nil {
			resp.Body.Close() // 200, or 401 with auth: either way it serves
			return
		}
		select {
		case <-exited:
			r.t.Fatalf("distributiontest: %s exited before answering on %s:\n%s", r.bin, r.Host, r.stderrTail())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("distributiontest: %s did not answer on %s: %v\n%s", r.bin, r.Host, err, r.stderrTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *Registry) stderrTail() string {
	b, _ := os.ReadFile(r.errPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freeAddr picks a free port on 127.0.0.1.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("distributiontest: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("distributiontest: %v", err)
	}
}
