// Package s3test runs a real S3-compatible server for tests: versitygw
// (Versity's S3 gateway) over a directory, on a free 127.0.0.1 port, with
// generated credentials and one bucket, killed when the test ends.
//
//	srv := s3test.Start(t)
//	// point a client at srv.URL with srv.AccessKey, srv.SecretKey, srv.Region,
//	// path-style addressing, bucket srv.Bucket ...
//	srv.Restart() // SIGKILL, then the same port, data and credentials
//
// When versitygw is missing the test is skipped loudly, or fails under
// CI=true (internal/testtool); .ci/run installs it.
package s3test

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berthlabs/berth/internal/testproc"
	"github.com/berthlabs/berth/internal/testtool"
)

// Server is a running versitygw process with one bucket.
type Server struct {
	URL       string // http://127.0.0.1:<port>
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // the gateway's root: one subdirectory per bucket

	t       testing.TB
	bin     string
	addr    string
	logPath string
	proc    *testproc.Proc
}

// Start runs versitygw over t.TempDir() with a bucket and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{
		Bucket:    "berth-test",
		AccessKey: "AK" + rand.Text()[:18],
		SecretKey: rand.Text() + rand.Text()[:14],
		Region:    "us-east-1",
		Dir:       filepath.Join(dir, "gateway"),
		t:         t,
		bin:       testtool.Require(t, "versitygw"),
		addr:      testproc.FreeAddr(t),
	}
	s.URL = "http://" + s.addr
	s.logPath = filepath.Join(dir, "versitygw.log")
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	// An anonymous request gets 403, which is enough to know it serves.
	client := &http.Client{Timeout: time.Second}
	s.proc = testproc.Start(t, testproc.Spec{Name: "s3test", Cmd: s.command, Stdout: s.logPath, Stderr: s.logPath,
		Ready: func() error {
			resp, err := client.Get(s.URL + "/")
			if err == nil {
				resp.Body.Close()
			}
			return err
		}})
	s.createBucket()
	return s
}

// Client returns an S3 client of the server's root user, with path-style
// addressing as versitygw needs.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.URL),
		Region:       s.Region,
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}, nil
		}),
	})
}

// Stop kills the process (SIGKILL) and waits for it to exit. Stopping a
// stopped server does nothing.
func (s *Server) Stop() { s.proc.Stop() }

// Restart stops the process if it runs and starts it again on the same
// port, data and credentials; it returns once the server answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.proc.Restart()
}

func (s *Server) command() *exec.Cmd {
	cmd := exec.Command(s.bin, "--port", s.addr, "--region", s.Region, "--quiet", "posix", s.Dir)
	// The credentials go through the environment, not argv, so they do
	// not show in ps; versitygw reads these variables for --access/--secret.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	return cmd
}

func (s *Server) createBucket() {
	s.t.Helper()
	_, err := s.Client().CreateBucket(s.t.Context(), &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
	if err != nil {
		s.t.Fatalf("s3test: creating bucket %s: %v\n%s", s.Bucket, err, s.proc.Tail())
	}
}
