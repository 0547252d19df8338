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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthlabs/berth/internal/testproc"
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
	proc    *testproc.Proc
}

// Start runs a registry and stops it when the test ends.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	name := opts.Binary
	if name == "" {
		name = "registry"
	}
	r := &Registry{t: t, bin: testtool.Require(t, name), Dir: t.TempDir()}
	r.Host = testproc.FreeAddr(t)
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
	client := &http.Client{Timeout: time.Second}
	r.proc = testproc.Start(t, testproc.Spec{Name: "distributiontest",
		Cmd:    func() *exec.Cmd { return exec.Command(r.bin, "serve", r.cfgPath) },
		Stdout: r.logPath, Stderr: r.errPath,
		Ready: func() error {
			resp, err := client.Get(r.URL + "/v2/")
			if err == nil {
				resp.Body.Close() // 200, or 401 with auth: either way it serves
			}
			return err
		}})
	return r
}

// Stop kills the process (SIGKILL) and waits for it to exit, so the port
// refuses connections at once. Stopping a stopped registry does nothing.
func (r *Registry) Stop() { r.proc.Stop() }

// Restart stops the process if it runs and starts it again on the same
// port over the same data; it returns once the registry answers.
func (r *Registry) Restart() {
	r.t.Helper()
	r.proc.Restart()
}

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("distributiontest: %v", err)
	}
}
